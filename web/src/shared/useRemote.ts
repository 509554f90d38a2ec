import { useCallback, useEffect, useState } from "react";

import { ProblemError, type Problem } from "../api/problem";

export type Remote<T> =
  | { state: "loading" }
  | { state: "failed"; problem: Problem | null } // null: the server could not be reached
  | { state: "ready"; data: T };

interface Settled<T> {
  load: () => Promise<T>;
  round: number;
  remote: Remote<T>;
}

/**
 * Whatever `load` fetches, as loading / failed / ready; `reload` fetches it again (showing "loading"),
 * `refresh` fetches it again while the data already there stays shown (a live update). Pass a stable
 * `load` (`useCallback` with what it depends on): a new function is a new fetch.
 */
export function useRemote<T>(load: () => Promise<T>): [Remote<T>, () => void, () => void] {
  const [round, setRound] = useState({ number: 0, quiet: false });
  const [settled, setSettled] = useState<Settled<T> | null>(null);
  useEffect(() => {
    let current = true;
    const number = round.number;
    load().then(
      (data) => current && setSettled({ load, round: number, remote: { state: "ready", data } }),
      (error: unknown) =>
        current && setSettled({ load, round: number, remote: { state: "failed", problem: asProblem(error) } }),
    );
    return () => {
      current = false;
    };
  }, [load, round]);
  const reload = useCallback(() => setRound((value) => ({ number: value.number + 1, quiet: false })), []);
  const refresh = useCallback(() => setRound((value) => ({ number: value.number + 1, quiet: true })), []);
  // Until the answer for this very `load` and round arrives, the data shown would be stale: loading —
  // unless the round is a refresh and there is data of this `load` to keep showing meanwhile.
  let remote: Remote<T> = { state: "loading" };
  if (settled !== null && settled.load === load) {
    if (settled.round === round.number) remote = settled.remote;
    else if (round.quiet && settled.remote.state === "ready") remote = settled.remote;
  }
  return [remote, reload, refresh];
}

/** A ProblemError's problem; null when fetch itself failed (offline, server down). */
export function asProblem(error: unknown): Problem | null {
  if (error instanceof ProblemError) return error.problem;
  if (error instanceof TypeError) return null;
  return { type: "about:blank", title: error instanceof Error ? error.message : String(error), status: 0 };
}
