// Live changes to a resource's time, from the appointments service's Server-Sent Events stream
// (`GET /resources/{id}/slots/stream`): an appointment requested, decided, cancelled or moved, a schedule
// changed. Pages use them as the signal to read again what they show.
import { useEffect, useEffectEvent } from "react";

import { useApi } from "../api/client";

export interface SlotChange {
  /** The changed period; null when the service cannot say (read everything again). */
  from: string | null;
  until: string | null;
}

const EVERYTHING: SlotChange = { from: null, until: null };

/** Whether a change touches [start, end): a change of unknown extent touches everything. */
export function touches(change: SlotChange, start: Date, end: Date): boolean {
  if (change.from === null) return true;
  const from = Date.parse(change.from);
  const until = change.until === null ? from : Date.parse(change.until);
  return from < end.getTime() && until >= start.getTime();
}

function parse(data: unknown): SlotChange {
  try {
    const payload = JSON.parse(String(data)) as { from?: unknown; until?: unknown };
    return typeof payload.from === "string"
      ? { from: payload.from, until: typeof payload.until === "string" ? payload.until : null }
      : EVERYTHING;
  } catch {
    return EVERYTHING; // not what the service sends: be safe and read again
  }
}

/**
 * Calls `onChange` for each committed change to the resource's time while the component is shown. The
 * browser's EventSource reconnects by itself after a dropped connection; changes made meanwhile are not
 * replayed, so a stream that is `ready` again reports a change of unknown extent. Nothing happens where the
 * browser has no EventSource.
 */
export function useSlotChanges(resourceId: string | undefined, onChange: (change: SlotChange) => void) {
  const api = useApi();
  const changed = useEffectEvent(onChange);
  useEffect(() => {
    if (!resourceId || typeof EventSource === "undefined") return;
    const url = new URL(`/api/v1/appointments/resources/${encodeURIComponent(resourceId)}/slots/stream`, api.baseUrl);
    const source = new EventSource(url);
    let readyBefore = false;
    source.addEventListener("ready", () => {
      if (readyBefore) changed(EVERYTHING);
      readyBefore = true;
    });
    source.addEventListener("slots-changed", (event) => changed(parse(event.data)));
    return () => source.close();
  }, [api.baseUrl, resourceId]);
}
