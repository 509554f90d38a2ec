import { useEffect } from "react";

/** The document's title names the page (WCAG 2.4.2), read first by screen readers after navigation. */
export function usePageTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Kairos`;
  }, [title]);
}
