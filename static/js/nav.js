/* The one table of screens. Each role sees the screens listed for it; a screen is a
   module exporting `render(ctx, args, query)`; a new screen (e.g. a team lead's caseload
   review in views/lead.js) is one more row here. */

const FIELD = ['worker', 'team_lead'];
const ALL = ['worker', 'team_lead', 'commissioner', 'admin'];
const LEAD = ['team_lead'];

export const SCREENS = [
  { path: 'caseload', label: 'Caseload', nav: true, roles: FIELD, load: () => import('./views/caseload.js') },
  { path: 'follow-ups', label: 'Follow-ups', nav: true, roles: FIELD, load: () => import('./views/followups.js') },
  // Pathways: incoming referrals to accept or decline; a client's pathway (#/pathway/<id>).
  { path: 'referrals', label: 'Referrals', nav: true, roles: FIELD, load: () => import('./views/referrals.js') },
  { path: 'pathway', roles: FIELD, load: () => import('./views/pathway.js') },
  // Team lead only: #/team (overview), #/team/attention, /duplicates, /client/<id>, /assign.
  { path: 'team', label: 'Team', nav: true, roles: LEAD, load: () => import('./views/lead.js') },
  { path: 'sync', label: 'Sync', nav: true, roles: FIELD, load: () => import('./views/problems.js') },
  { path: 'client', roles: FIELD, load: () => import('./views/client.js') },
  { path: 'client-form', roles: FIELD, load: () => import('./views/client-form.js') },
  { path: 'record', roles: FIELD, load: () => import('./views/record.js') },
  { path: 'report', label: 'Weekly report', nav: true, roles: ['commissioner', 'admin'], load: () => import('./views/commissioner.js') },
  { path: 'home', label: 'Admin', nav: true, roles: ['admin'], load: () => import('./views/desk.js') },
  { path: 'account', label: 'Account', nav: true, roles: ALL, load: () => import('./views/account.js') },
];

export function screensFor(role) {
  return SCREENS.filter((s) => s.roles.includes(role));
}

export function homeFor(role) {
  return FIELD.includes(role) ? 'caseload' : role === 'commissioner' ? 'report' : 'home';
}
