/* 企业微信登录控制台 — plain JS over the JSON API under /api, as native ES modules (no build step).
 *
 * This module starts the page: it wires each card, says what every read of /api/state redraws and in which
 * order, and starts the polls. Each card is a module of its own beside this one (README: "How the code is laid
 * out"); page.js holds the rule they all follow: data reaches the page as text, never as markup.
 */

import { lookUpAccounts, renderSessions } from "./accounts.js";
import { wireContacts } from "./contacts.js";
import { loadEvents, renderSessionFilter, wireEvents } from "./events.js";
import {
  renderCallbackProblem, renderKnownAccounts, renderSimulatorLink, tickWizard, wireLogin, wizardFollow,
  wizardRenderSuccess, wizardReset, wizardResume,
} from "./login-wizard.js";
import { startMessages } from "./messages.js";
import { renderMonitor, wireMonitor } from "./monitor.js";
import { measureTopbar, renderAttention, tickAttention, wireNeedsPerson } from "./needs-person.js";
import { wireRooms } from "./rooms.js";
import { renderSendAs, wireSending } from "./sending.js";
import { checkUpstream, poll, redrawAfterEachRead, store } from "./state.js";

redrawAfterEachRead(() => {
  lookUpAccounts(store.state.sessions);
  wizardResume();
  wizardFollow();
  renderCallbackProblem();
  renderSimulatorLink();
  renderSessions();
  renderAttention();
  renderMonitor();
  renderKnownAccounts();
  renderSendAs();
  renderSessionFilter();
  wizardRenderSuccess();
  loadEvents(false);
});

wireLogin();
wireMonitor();
wireContacts();
wireEvents();
wireNeedsPerson();
// The countdowns are the only things that change every second.
setInterval(() => {
  tickWizard();
  if (tickAttention()) renderAttention();
}, 1000);

measureTopbar();
wizardReset("first");
poll();
checkUpstream();
wireSending();
wireRooms();
startMessages();
