// Renders a page as the app does — i18n, auth, the typed API client, the router — with fakes at the edges.
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { I18nextProvider } from "react-i18next";
import { MemoryRouter, Route, Routes } from "react-router";
import { vi } from "vitest";

import { ApiContext, createApi } from "../api/client";
import { AuthContext, type Auth, type AuthState } from "../features/auth/AuthProvider";
import type { SignedInUser } from "../features/auth/session";
import { createI18n, type Language } from "../i18n";

export const PATIENT: SignedInUser = {
  subject: "0192f000-0000-7000-8000-0000000000aa",
  name: "Pat Jensen",
  email: "patient@demo.kairos.test",
  roles: ["patient"],
  organisation: undefined,
  accessToken: "header.payload.signature",
};

export const PROFESSIONAL: SignedInUser = {
  subject: "0192f000-0000-7000-8000-0000000000bb",
  name: "Dr. Mira Haddad",
  email: "doctor@harbour.demo.kairos.test",
  roles: ["professional"],
  organisation: "0192f000-0000-7000-8000-00000000a001",
  accessToken: "header.payload.signature",
};

export type Handler = (
  request: Request,
) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>;

/** A fetch answering "METHOD /path" from `routes` (JSON or problem+json), recording every request. */
export function fakeServer(routes: Record<string, Handler>) {
  const requests: Request[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(request.clone());
    const handler = routes[`${request.method} ${new URL(request.url).pathname}`];
    if (!handler) return new Response(JSON.stringify({ title: "Not Found", status: 404 }), { status: 404 });
    const { status = 200, body } = await handler(request);
    const type = status >= 400 ? "application/problem+json" : "application/json";
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": type },
    });
  });
  return { fetch, requests };
}

interface Options {
  path?: string;
  /** The query string, `?name=value`. */
  search?: string;
  route?: string;
  state?: unknown;
  auth?: AuthState;
  server?: ReturnType<typeof fakeServer>;
  language?: Language;
}

export async function renderPage(page: ReactNode, options: Options = {}) {
  const i18n = await createI18n(options.language ?? "en");
  const auth: Auth = {
    state: options.auth ?? { status: "signed-in", user: PATIENT },
    signIn: vi.fn(() => Promise.resolve()),
    signOut: vi.fn(() => Promise.resolve()),
    completeSignIn: vi.fn(() => Promise.resolve("/")),
    accessToken: () => PATIENT.accessToken,
  };
  const server = options.server ?? fakeServer({});
  const api = createApi({ baseUrl: "http://kairos.test", accessToken: auth.accessToken, fetch: server.fetch });
  const path = options.path ?? "/";
  const view = render(
    <I18nextProvider i18n={i18n}>
      <AuthContext.Provider value={auth}>
        <ApiContext.Provider value={api}>
          <MemoryRouter initialEntries={[{ pathname: path, search: options.search ?? "", state: options.state }]}>
            <Routes>
              <Route path={options.route ?? path} element={page} />
              <Route path="*" element={<p>elsewhere</p>} />
            </Routes>
          </MemoryRouter>
        </ApiContext.Provider>
      </AuthContext.Provider>
    </I18nextProvider>,
  );
  return { ...view, auth, server, i18n };
}
