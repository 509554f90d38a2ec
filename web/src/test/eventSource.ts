// A stand-in for the browser's EventSource (jsdom has none): the test says what the server pushes.
import { vi } from "vitest";

export class FakeEventSource extends EventTarget {
  static opened: FakeEventSource[] = [];
  readonly url: string;
  closed = false;

  constructor(url: string | URL) {
    super();
    this.url = String(url);
    FakeEventSource.opened.push(this);
  }

  close() {
    this.closed = true;
  }

  /** The server sends an event of this type with this JSON data. */
  push(type: string, data: unknown) {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
}

/** Installs the fake for one test; returns the streams open now on a path ending with `suffix`. */
export function fakeEventSources() {
  FakeEventSource.opened = [];
  vi.stubGlobal("EventSource", FakeEventSource);
  return {
    open: (suffix: string) =>
      FakeEventSource.opened.filter((source) => !source.closed && new URL(source.url).pathname.endsWith(suffix)),
  };
}
