/* Team lead: #/team is the team overview; #/team/<screen>/... opens the other lead
   screens, so the main navigation needs one row (nav.js) and marks it current on each. */
import { h, fmtDate, fmtDateTime } from '../ui.js';
import { leadNav, heading, cached, staleNotice, daysAgo, STALE_DAYS } from './lead-common.js';

const SCREENS = {
  attention: () => import('./lead-attention.js'),
  duplicates: () => import('./lead-duplicates.js'),
  client: () => import('./lead-client.js'),
  assign: () => import('./lead-assign.js'),
};

export async function render(ctx, args, query) {
  const [sub, ...rest] = args;
  if (!sub) return overview(ctx);
  const load = SCREENS[sub];
  if (!load) {
    ctx.append(heading('Page not found'), h('p', {}, h('a', { href: '#/team', text: 'Team overview' })));
    return;
  }
  return (await load()).render(ctx, rest, query);
}

const FIGURES = [
  ['open_clients', 'Open clients'],
  ['interventions_this_week', 'Interventions this week'],
  ['interventions_last_4_weeks', 'Interventions, 4 weeks before'],
  ['follow_ups_due', 'Follow-ups due (next 7 days)'],
  ['follow_ups_overdue', 'Follow-ups overdue'],
];

function figures(row) {
  return h('dl', { class: 'facts figures' }, FIGURES.flatMap(([k, label]) => [
    h('dt', { text: label }), h('dd', { class: k === 'follow_ups_overdue' && row[k] ? 'overdue-figure' : null, text: String(row[k] ?? 0) }),
  ]));
}

/* "Last sync" with a flag (words and an icon, not colour alone) when the phone is quiet. */
function lastSync(row) {
  const age = daysAgo(row.last_sync_at);
  const when = row.last_sync_at ? fmtDateTime(row.last_sync_at) : 'Never';
  const out = [h('p', { class: 'row-meta', text: 'Last sync: ' + when })];
  if (row.last_sync_at == null) {
    out.push(h('p', { class: 'flag', text: 'No phone has synced for this worker yet' }));
  } else if (age >= STALE_DAYS) {
    out.push(h('p', { class: 'flag', text: 'Not synced for ' + age + ' days' }));
  }
  return out;
}

function workerCard(row) {
  const id = 'worker-' + row.worker_id;
  const title = row.name + (row.role === 'team_lead' ? ' (team lead)' : '') + (row.in_team === false ? ' (left the team)' : '');
  return h('li', { class: 'card', 'aria-labelledby': id },
    h('h3', { id, class: 'card-title', text: title }),
    ...lastSync(row),
    figures(row),
    h('a', { href: '#/team/attention?worker=' + row.worker_id, class: 'card-link', text: 'Clients of ' + row.name + ' needing attention' }));
}

async function overview(ctx) {
  const res = await cached(ctx, 'overview', '/api/v1/caseload/overview');
  const o = res.data;
  ctx.append(leadNav(''), heading('Team overview'));
  if (res.stale) ctx.append(staleNotice(res, 'figures'));
  if (ctx.notice) ctx.append(h('p', { class: 'info', role: 'status', text: ctx.notice }));
  if (!o) return;
  const workers = o.workers || [];
  ctx.append(
    h('p', { class: 'muted' }, (o.team && o.team.name ? o.team.name + '. ' : ''),
      'Week ' + o.week + ' (' + fmtDate(o.week_start) + ' to ' + fmtDate(o.week_end) + '). Figures read ' + fmtDateTime(o.generated_at) + '.'),
    h('h2', { text: 'Workers (' + workers.length + ')' }),
    workers.length ? h('ul', { class: 'list cards', id: 'workers' }, workers.map(workerCard)) : h('p', { class: 'muted', text: 'No workers in this team.' }),
    h('h2', { id: 'unassigned-h', text: 'No key worker' }),
    h('section', { class: 'card', 'aria-labelledby': 'unassigned-h' }, figures(o.unassigned || {}),
      h('a', { href: '#/team/attention?worker=none', class: 'card-link', text: 'Clients without a key worker needing attention' })),
    h('h2', { id: 'totals-h', text: 'Whole team' }),
    h('section', { class: 'card', 'aria-labelledby': 'totals-h' }, figures(o.totals || {}),
      o.shared_clients ? h('p', { class: 'row-meta', id: 'shared-clients', text: 'Of the open clients, ' + o.shared_clients + ' ' + (o.shared_clients === 1 ? 'was' : 'were') + ' referred by partner teams and taken on by this team.' }) : null),
  );
}
