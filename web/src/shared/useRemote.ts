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
 * Whatever `load` fetches, as loading / failed / ready; `reload` fetches it again. Pass a stable `load`
 * (`useCallback` with what it depends on): a new function is a new fetch.
 */
export function useRemote<T>(load: () => Promise<T>): [Remote<T>, () => void] {
  const [round, setRound] = useState(0);
  const [settled, setSettled] = useState<Settled<T> | null>(null);
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setSettled({ load, round, remote: { state: "ready", data } }),
      (error: unknown) =>
        current && setSettled({ load, round, remote: { state: "failed", problem: asProblem(error) } }),
    );
    return () => {
      current = false;
    };
  }, [load, round]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  // Until the answer for this very `load` and round arrives, the data shown would be stale: loading.
  const remote: Remote<T> =
    settled !== null && settled.load === load && settled.round === round ? settled.remote : { state: "loading" };
  return [remote, reload];
}

/** A ProblemError's problem; null when fetch itself failed (offline, server down). */
export function asProblem(error: unknown): Problem | null {
  if (error instanceof ProblemError) return error.problem;
  if (error instanceof TypeError) return null;
  return { type: "about:blank", title: error instanceof Error ? error.message : String(error), status: 0 };
}
