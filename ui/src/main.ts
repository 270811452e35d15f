// Starts the window: the app, fed by the service's pushed events and the tray's quick actions.

import { App } from "./app";
import { ipc, on, problemOf } from "./ipc";

const root = {
  header: document.getElementById("header") as HTMLElement,
  main: document.getElementById("main") as HTMLElement,
  notices: document.getElementById("notices") as HTMLElement,
};
const app = new App(ipc, root);

void on("overview", (o) => app.accept(o));
void on("service-lost", (p) => app.lost(p));
void on("notice", (text) => app.notice(text));
void on("tray-action", async (action) => {
  if (action === "request") app.go("request");
  if (action === "disconnect") {
    try {
      await ipc.disconnect();
      await app.refresh();
    } catch (e) {
      app.notice(problemOf(e).message, "error");
    }
  }
});
void app.start();
