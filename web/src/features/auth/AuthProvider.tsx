import type { User, UserManager } from "oidc-client-ts";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

import { signedInUser, type SignedInUser } from "./session";

export type AuthState =
  { status: "loading" } | { status: "signed-out"; expired: boolean } | { status: "signed-in"; user: SignedInUser };

export interface Auth {
  state: AuthState;
  signIn: (returnTo?: string) => Promise<void>;
  signOut: () => Promise<void>;
  /** Finishes the redirect back from identity; resolves to the path the user set out from. */
  completeSignIn: () => Promise<string>;
  accessToken: () => string | undefined;
}

export const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (auth === null) throw new Error("useAuth outside <AuthProvider>");
  return auth;
}

interface ReturnState {
  returnTo: string;
}

function returnPath(user: User): string {
  const state = user.state as Partial<ReturnState> | undefined;
  // Only a path of this app: never an absolute URL from the state (open redirect).
  return typeof state?.returnTo === "string" && state.returnTo.startsWith("/") && !state.returnTo.startsWith("//")
    ? state.returnTo
    : "/";
}

export function AuthProvider({ manager, children }: { manager: UserManager; children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });
  const token = useRef<string | undefined>(undefined);
  const callback = useRef<Promise<string> | null>(null);

  useEffect(() => {
    const signedIn = (user: User) => {
      token.current = user.access_token;
      setState({ status: "signed-in", user: signedInUser(user) });
    };
    const signedOut = (expired: boolean) => {
      token.current = undefined;
      setState({ status: "signed-out", expired });
    };
    const onExpired = () => {
      void manager.removeUser();
      signedOut(true);
    };
    const onUnloaded = () => signedOut(false);
    manager.events.addUserLoaded(signedIn);
    manager.events.addUserUnloaded(onUnloaded);
    manager.events.addAccessTokenExpired(onExpired);
    void manager.clearStaleState();
    if (window.location.pathname !== "/auth/callback") {
      manager.getUser().then(async (user) => {
        if (user === null) return signedOut(false);
        if (!user.expired) return signedIn(user);
        // Back after the access token expired (a sleeping laptop): one renewal with the refresh token.
        try {
          const renewed = await manager.signinSilent();
          if (renewed) signedIn(renewed);
          else onExpired();
        } catch {
          onExpired();
        }
      }, onExpired);
    }
    return () => {
      manager.events.removeUserLoaded(signedIn);
      manager.events.removeUserUnloaded(onUnloaded);
      manager.events.removeAccessTokenExpired(onExpired);
    };
  }, [manager]);

  const signIn = useCallback(
    (returnTo = "/") => manager.signinRedirect({ state: { returnTo } satisfies ReturnState }),
    [manager],
  );
  const signOut = useCallback(() => manager.signoutRedirect(), [manager]);
  const completeSignIn = useCallback(() => {
    // Once per page load: the code can be redeemed once, and React may run effects twice in development.
    callback.current ??= manager.signinRedirectCallback().then(returnPath, (error: unknown) => {
      setState({ status: "signed-out", expired: false });
      throw error;
    });
    return callback.current;
  }, [manager]);
  const accessToken = useCallback(() => token.current, []);

  const auth = useMemo(
    () => ({ state, signIn, signOut, completeSignIn, accessToken }),
    [state, signIn, signOut, completeSignIn, accessToken],
  );
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}
