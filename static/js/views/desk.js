/* Commissioners and admins: what they can do here (their full screens come later as
   views/commissioner.js and views/admin.js, registered in nav.js). */
import { h } from '../ui.js';

function isoWeek(d) {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y = t.getUTCFullYear();
  const week = Math.ceil(((t - Date.UTC(y, 0, 1)) / 86400000 + 1) / 7);
  return y + '-W' + String(week).padStart(2, '0');
}

export async function render(ctx) {
  const p = ctx.profile;
  const last = new Date();
  last.setDate(last.getDate() - 7);
  const week = isoWeek(last);
  ctx.append(h('h1', { tabindex: '-1', text: 'Welcome, ' + p.name }));
  if (p.role === 'commissioner') {
    ctx.append(
      h('p', { text: 'You receive the weekly summary for your areas by email every Monday as a PDF. Counts from 1 to 4 are shown as <5 so no person can be identified.' }),
      h('h2', { text: 'Your areas' }),
      h('ul', {}, (p.areas || []).map((a) => h('li', { text: a.name + (a.region ? ' (' + a.region + ')' : '') }))),
      h('p', { text: 'Last week is ' + week + '. The weekly summary and its CSV of counts are available from the reports API (GET /api/v1/reports/weekly?week=' + week + '&area=…) and will appear on this screen.' }),
    );
  } else {
    ctx.append(
      h('p', { text: 'Administrators manage areas, teams, users and devices, and read the audit log, through the administration API (/api/docs). A lost phone is revoked there: its next contact wipes it.' }),
      h('p', {}, h('a', { href: '/api/docs', text: 'Open the API documentation' })),
    );
  }
}
