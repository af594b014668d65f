/* Commissioners (and admins): the weekly summary for their areas, suppressed counts
   only, with the PDF and CSV they receive by email. Read online; nothing is stored. */
import { h, select, fmtDateTime } from '../ui.js';

function isoWeek(d) {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y = t.getUTCFullYear();
  return y + '-W' + String(Math.ceil(((t - Date.UTC(y, 0, 1)) / 86400000 + 1) / 7)).padStart(2, '0');
}
function shiftWeek(week, by) {
  const [y, w] = week.split('-W').map(Number);
  const jan4 = new Date(Date.UTC(y, 0, 4));
  const monday = new Date(jan4.getTime() - ((jan4.getUTCDay() || 7) - 1) * 86400000 + (w - 1 + by) * 7 * 86400000);
  return isoWeek(new Date(monday.getUTCFullYear(), monday.getUTCMonth(), monday.getUTCDate()));
}

function table(caption, head, rows) {
  return h('table', { class: 'changes' }, h('caption', { class: 'row-title', text: caption }),
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row', text: r[0] }), r.slice(1).map((c) => h('td', { text: c ?? '' }))))));
}

function section(s) {
  const out = [h('h2', { text: s.scope ? s.scope.name : 'Summary' })];
  out.push(table('Headline figures', ['Measure', 'This week', 'Last week', 'Change'],
    (s.headline || []).map((x) => [x.label, x.value, x.previous, x.change])));
  out.push(table('By intervention type', ['Type', 'Count'], (s.by_type || []).map((x) => [x.label, x.value])));
  if (s.by_area && s.by_area.length) out.push(table('By area', ['Area', 'Interventions'], s.by_area.map((x) => [x.name, x.value])));
  if (s.by_team && s.by_team.length) out.push(table('By team', ['Team', 'Interventions'], s.by_team.map((x) => [x.name, x.value])));
  return out;
}

export async function render(ctx, args, query) {
  const { api } = ctx.O;
  // No week asked: the server answers its latest released week (weeks are released a
  // grace period after they end, which the phone does not know).
  let week = /^\d{4}-W\d{2}$/.test(query.get('week') || '') ? query.get('week') : '';
  const area = query.get('area') || '';
  const areas = ctx.profile.areas || [];
  const q = new URLSearchParams(week ? { week } : {});
  if (area) q.set('area', area);
  const go = (w, a) => ctx.go('report?' + new URLSearchParams(Object.assign({ week: w }, a ? { area: a } : {})).toString());
  const areaSelect = select([{ value: '', label: areas.length > 1 ? 'All my areas' : 'My area' }, ...areas.map((a) => ({ value: a.code, label: a.name }))], area, { id: 'report-area' });
  areaSelect.addEventListener('change', () => go(week, areaSelect.value));
  const prev = h('button', { type: 'button', class: 'btn', text: 'Previous week' });
  const next = h('button', { type: 'button', class: 'btn', text: 'Next week' });
  prev.addEventListener('click', () => go(shiftWeek(week, -1), area));
  next.addEventListener('click', () => go(shiftWeek(week, 1), area));
  prev.disabled = next.disabled = !week;
  const download = (ext, label) => {
    const btn = h('button', { type: 'button', class: 'btn', text: label });
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const blob = await api.download('/api/v1/reports/weekly.' + ext + '?' + q.toString());
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: 'outreach-' + week + (area ? '-' + area : '') + '.' + ext });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) {
        status.textContent = e.message || 'The download failed.';
      } finally {
        btn.disabled = false;
      }
    });
    return btn;
  };
  const status = h('p', { class: 'error', role: 'alert' });
  const heading = h('h1', { tabindex: '-1', text: week ? 'Weekly report ' + week : 'Weekly report' });
  ctx.append(
    heading,
    h('div', { class: 'field' }, h('label', { for: 'report-area', text: 'Area' }), areaSelect),
    h('div', { class: 'actions' }, prev, next),
    status,
  );
  if (!navigator.onLine) { status.textContent = 'You are offline: reports are read from the server.'; return; }
  let report;
  try {
    report = await api.call('GET', '/api/v1/reports/weekly?' + q.toString());
    week = report.week;
    q.set('week', week);
    heading.textContent = 'Weekly report ' + week;
    prev.disabled = next.disabled = false;
  } catch (e) {
    status.textContent = (e.body && e.body.message) || e.message || 'The report could not be loaded.';
    return;
  }
  ctx.append(
    h('p', { class: 'muted', text: report.week_start + ' to ' + report.week_end + (report.complete ? '' : ' (week not finished)') + '. Figures read ' + fmtDateTime(report.data_read_at) + '.' }),
    h('div', { class: 'actions' }, download('pdf', 'Download PDF'), download('csv', 'Download CSV')),
    report.summary ? section(report.summary) : null,
    ...(report.sections || []).flatMap(section),
    report.revisions && report.revisions.length ? table('Revised figures for earlier weeks', ['Figure', 'Was', 'Now'],
      report.revisions.map((r) => [r.week + ' ' + r.scope_name + ': ' + r.label, r.old, r.new])) : null,
    h('p', { class: 'info', text: report.suppression_note }),
  );
}
