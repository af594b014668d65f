/* Administrators: what they do, and where (their own screens can be added in nav.js). */
import { h } from '../ui.js';

export async function render(ctx) {
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Welcome, ' + ctx.profile.name }),
    h('p', { text: 'Administrators manage areas, teams, users and devices, and read the audit log, through the administration API. A lost phone is revoked there: its next contact wipes it.' }),
    h('p', {}, h('a', { href: '/api/docs', text: 'Open the API documentation' })),
    h('p', {}, h('a', { href: '#/report', text: 'Read the weekly report' })),
  );
}
