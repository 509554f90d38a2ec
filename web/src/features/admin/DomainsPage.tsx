import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useApi } from "../../api/client";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import type { SignedInUser } from "../auth/session";
import { administersDomains, listDomains } from "./api";
import "./admin.css";

/** What a page for domain administrators shows anyone else (the service would refuse them anyway). */
export function NotADomainAdmin({ title }: { title: string }) {
  const { t } = useTranslation("admin");
  usePageTitle(title);
  return (
    <section aria-labelledby="admin-forbidden">
      <h1 id="admin-forbidden">{t("forbiddenTitle")}</h1>
      <p className="empty">{t("forbiddenBody")}</p>
    </section>
  );
}

export function DomainsPage({ user }: { user: SignedInUser }) {
  const { t } = useTranslation("admin");
  if (!administersDomains(user)) return <NotADomainAdmin title={t("list.title")} />;
  return <DomainList />;
}

function DomainList() {
  const { t } = useTranslation("admin");
  usePageTitle(t("list.title"));
  const api = useApi();
  const [domains, reload] = useRemote(useCallback(() => listDomains(api), [api]));
  return (
    <section aria-labelledby="domains-title">
      <h1 id="domains-title">{t("list.title")}</h1>
      <p>{t("list.intro")}</p>
      {domains.state === "loading" && <Loading />}
      {domains.state === "failed" && <ProblemMessage problem={domains.problem} onRetry={reload} />}
      {domains.state === "ready" && domains.data.length === 0 && <p className="empty">{t("list.empty")}</p>}
      {domains.state === "ready" && domains.data.length > 0 && (
        <div className="table-scroll">
          <table className="admin-table">
            <thead>
              <tr>
                <th scope="col">{t("list.label")}</th>
                <th scope="col">{t("list.name")}</th>
                <th scope="col">{t("list.types")}</th>
                <th scope="col">{t("list.version")}</th>
              </tr>
            </thead>
            <tbody>
              {domains.data.map((domain) => (
                <tr key={domain.name}>
                  <th scope="row">
                    <Link to={`/admin/domains/${domain.name}`} aria-label={t("list.edit", { label: domain.label })}>
                      {domain.label}
                    </Link>
                  </th>
                  <td>
                    <code>{domain.name}</code>
                  </td>
                  <td>{domain.appointment_types.map((type) => type.label).join(", ")}</td>
                  <td>{domain.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
