import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useLocation } from "react-router";

import { Loading } from "../../shared/Loading";
import { useAuth } from "./AuthProvider";
import type { SignedInUser } from "./session";

/** Shows `children` to a signed-in user; asks anyone else to sign in, and brings them back here after. */
export function RequireSignIn({ children }: { children: (user: SignedInUser) => ReactNode }) {
  const { t } = useTranslation();
  const { state, signIn } = useAuth();
  const location = useLocation();
  if (state.status === "loading") return <Loading />;
  if (state.status === "signed-in") return children(state.user);
  return (
    <section aria-labelledby="sign-in-required" className="card">
      <h1 id="sign-in-required">{t("auth.signInRequired")}</h1>
      <p>{state.expired ? t("auth.sessionExpired") : t("auth.signInRequiredBody")}</p>
      <button type="button" onClick={() => void signIn(location.pathname + location.search)}>
        {t("auth.signIn")}
      </button>
    </section>
  );
}
