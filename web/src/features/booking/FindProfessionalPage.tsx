import { useCallback, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { useApi } from "../../api/client";
import { unwrap } from "../../api/problem";
import { en } from "../../i18n/en";
import { Loading } from "../../shared/Loading";
import { ProblemMessage } from "../../shared/ProblemMessage";
import { useRemote } from "../../shared/useRemote";
import { usePageTitle } from "../../shared/usePageTitle";
import { listResources, type Resource } from "./api";

/** Case- and accent-blind: "helene" finds "Hélène". */
function searchable(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLowerCase();
}

function kindLabel(kind: string, t: ReturnType<typeof useTranslation>["t"]): string {
  return Object.hasOwn(en.kinds, kind) ? t(`kinds.${kind as keyof typeof en.kinds}`) : kind;
}

export function FindProfessionalPage() {
  const { t } = useTranslation();
  usePageTitle(t("find.title"));
  const api = useApi();
  const [domain, setDomain] = useState("");
  const [name, setName] = useState("");
  const [domains] = useRemote(useCallback(() => unwrap(api.appointments.GET("/api/v1/appointments/domains")), [api]));
  const [resources, reload] = useRemote(useCallback(() => listResources(api, domain || null), [api, domain]));
  const resultsId = useId();

  const labelOf = (resource: Resource) =>
    domains.state === "ready" ? domains.data.find((candidate) => candidate.name === resource.domain)?.label : undefined;
  const shown =
    resources.state === "ready"
      ? resources.data.filter((resource) => searchable(resource.display_name).includes(searchable(name.trim())))
      : [];

  return (
    <section aria-labelledby="find-title">
      <h1 id="find-title">{t("find.title")}</h1>
      <p>{t("find.intro")}</p>
      <form
        role="search"
        className="card filters"
        aria-label={t("find.filters")}
        onSubmit={(event) => event.preventDefault()}
      >
        <div className="field">
          <label htmlFor="find-domain">{t("find.domain")}</label>
          <select id="find-domain" value={domain} onChange={(event) => setDomain(event.target.value)}>
            <option value="">{t("find.allDomains")}</option>
            {domains.state === "ready" &&
              domains.data.map((candidate) => (
                <option key={candidate.name} value={candidate.name}>
                  {candidate.label}
                </option>
              ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="find-name">{t("find.name")}</label>
          <input
            id="find-name"
            type="search"
            value={name}
            aria-controls={resultsId}
            onChange={(event) => setName(event.target.value)}
          />
        </div>
      </form>
      {resources.state === "loading" && <Loading />}
      {resources.state === "failed" && <ProblemMessage problem={resources.problem} onRetry={reload} />}
      {resources.state === "ready" && (
        <>
          <p role="status" className="hint">
            {t("find.count", { count: shown.length })}
          </p>
          {shown.length === 0 ? (
            <p className="empty">{t("find.none")}</p>
          ) : (
            <ul id={resultsId} className="results" aria-label={t("find.results")}>
              {shown.map((resource) => (
                <li key={resource.id} className="card result">
                  <h2>{resource.display_name}</h2>
                  <p className="hint">
                    {[labelOf(resource), kindLabel(resource.kind, t), resource.zone].filter(Boolean).join(" · ")}
                  </p>
                  <Link
                    className="button"
                    to={`/appointments/new?resource=${resource.id}`}
                    // The visible words first (WCAG 2.5.3), then whose free times they are.
                    aria-label={t("find.bookWith", { name: resource.display_name })}
                  >
                    {t("find.book")}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
