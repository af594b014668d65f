/* The server's validation rules, checked on the phone before a record is queued.
   Returns {field: message}; empty when valid. */

export const INITIALS = /^[A-Z]{2,3}$/;
export const POSTCODE_DISTRICT = /^[A-Z]{1,2}[0-9][A-Z0-9]?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(s) {
  if (!DATE.test(s || '')) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !isNaN(d) && d.toISOString().slice(0, 10) === s;
}

export function normaliseClient(v) {
  return {
    initials: (v.initials || '').replace(/[^A-Za-z]/g, '').toUpperCase(),
    date_of_birth: (v.date_of_birth || '').trim(),
    sex: v.sex || '',
    postcode_district: (v.postcode_district || '').replace(/\s+/g, '').toUpperCase(),
    known_as: (v.known_as || '').trim() || null,
  };
}

export function validateClient(c, sexes) {
  const e = {};
  if (!c.initials) e.initials = 'Enter the initials';
  else if (!INITIALS.test(c.initials)) e.initials = 'Initials must be 2 or 3 letters';
  if (!c.date_of_birth) e.date_of_birth = 'Enter the date of birth';
  else if (!validDate(c.date_of_birth)) e.date_of_birth = 'Enter a real date of birth';
  else if (c.date_of_birth > new Date().toISOString().slice(0, 10)) e.date_of_birth = 'Date of birth must be in the past';
  else if (c.date_of_birth < '1900-01-01') e.date_of_birth = 'Date of birth must be after 1900';
  if (!c.sex) e.sex = 'Select sex';
  else if (sexes && !sexes.some((s) => s.code === c.sex)) e.sex = 'Select sex';
  if (!c.postcode_district) e.postcode_district = 'Enter the postcode district, like DH1';
  else if (!POSTCODE_DISTRICT.test(c.postcode_district)) e.postcode_district = 'Enter a postcode district like DH1 or SW1A (first half of the postcode only)';
  if (c.known_as && c.known_as.length > 40) e.known_as = 'Known-as name must be 40 characters or fewer';
  return e;
}

export function validateIntervention(v, codes, skewMinutes = 10) {
  const e = {};
  const type = (codes.intervention_types || []).find((t) => t.code === v.type);
  if (!v.anonymous && !v.client_id) e.client_id = 'Choose a client, or tick Anonymous contact';
  if (!type) e.type = 'Select the type';
  if (!v.occurred_at) e.occurred_at = 'Enter the date and time';
  else {
    const t = new Date(v.occurred_at);
    if (isNaN(t)) e.occurred_at = 'Enter a real date and time';
    else if (t.getTime() > Date.now() + skewMinutes * 60000) e.occurred_at = 'Date and time cannot be in the future';
  }
  if (!v.location) e.location = 'Select the location';
  else if (!(codes.locations || []).some((l) => l.code === v.location)) e.location = 'Select the location';
  for (const s of v.substances || []) {
    if (!(codes.substances || []).some((x) => x.code === s)) e.substances = 'Unknown substance';
  }
  if (type && type.quantity_label) {
    const q = v.quantity;
    if (q == null || q === '') e.quantity = 'Enter the number of ' + type.quantity_label.toLowerCase();
    else if (!Number.isInteger(q) || q < 1) e.quantity = 'Quantity must be a whole number, 1 or more';
    else if (type.quantity_max && q > type.quantity_max) e.quantity = 'Quantity must be ' + type.quantity_max + ' or fewer';
  }
  if (type && type.outcome_choices && type.outcome_choices.length && v.outcome && !type.outcome_choices.includes(v.outcome)) {
    e.outcome = 'Select an outcome';
  }
  if (v.outcome && v.outcome.length > 200) e.outcome = 'Outcome must be 200 characters or fewer';
  if (type && type.referral && !v.referral_to) e.referral_to = 'Enter who they were referred to';
  if (v.referral_to && v.referral_to.length > 200) e.referral_to = 'Referred to must be 200 characters or fewer';
  if (v.follow_up_on) {
    if (!validDate(v.follow_up_on)) e.follow_up_on = 'Enter a real date';
    else if (v.occurred_at && v.follow_up_on < v.occurred_at.slice(0, 10)) e.follow_up_on = 'Follow-up date must be on or after the contact';
    else if (v.occurred_at && new Date(v.follow_up_on) - new Date(v.occurred_at.slice(0, 10)) > 732 * 86400000) e.follow_up_on = 'Follow-up date must be within two years';
    if (v.anonymous) e.follow_up_on = 'An anonymous contact cannot have a follow-up';
  }
  if (v.notes && v.notes.length > 2000) e.notes = 'Notes must be 2,000 characters or fewer';
  return e;
}
