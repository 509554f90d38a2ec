import { useTranslation } from "react-i18next";

import { usePageTitle } from "../../shared/usePageTitle";
import type { SignedInUser } from "../auth/session";
import { ApplicationsSection } from "./ApplicationsSection";
import { ConsentsSection } from "./ConsentsSection";
import { DataRequestsSection } from "./DataRequestsSection";
import { ProfessionalSection } from "./ProfessionalSection";
import { ProfileSection } from "./ProfileSection";
import { SecuritySection } from "./SecuritySection";
import { SessionsSection } from "./SessionsSection";
import "./account.css";

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
      <SecuritySection />
      <SessionsSection />
      <ApplicationsSection />
      <ConsentsSection />
      <DataRequestsSection />
    </section>
  );
}
