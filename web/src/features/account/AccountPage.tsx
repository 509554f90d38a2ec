import { useTranslation } from "react-i18next";

import { usePageTitle } from "../../shared/usePageTitle";
import type { SignedInUser } from "../auth/session";
import { ConsentsSection } from "./ConsentsSection";
import { DataRequestsSection } from "./DataRequestsSection";
import { ProfessionalSection } from "./ProfessionalSection";
import { ProfileSection } from "./ProfileSection";
import { SessionsSection } from "./SessionsSection";
import "./account.css";

/** Identity's own page for setting up an authenticator app (server-rendered: the key never reaches this app). */
export const MFA_SET_UP_PATH = "/api/v1/identity/mfa/enrol";

export function AccountPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation("account");
  usePageTitle(t("title"));
  const organisation = user.roles.includes("professional") ? user.organisation : undefined;
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">{t("title")}</h1>
      <p>{t("intro")}</p>
      <ProfileSection />
      {organisation && <ProfessionalSection organisation={organisation} />}
      <section className="card" aria-labelledby="security-title">
        <h2 id="security-title">{t("security.title")}</h2>
        <p>{t("security.intro")}</p>
        <p>
          <a href={MFA_SET_UP_PATH} aria-describedby="security-opens">
            {t("security.setUp")}
          </a>
        </p>
        <p id="security-opens" className="hint">
          {t("security.opensIdentity")}
        </p>
      </section>
      <SessionsSection />
      <ConsentsSection />
      <DataRequestsSection />
    </section>
  );
}
