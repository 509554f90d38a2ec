import { lazy, Suspense, type ReactNode } from "react";
import { Route, Routes } from "react-router";

import { AppointmentPage } from "../features/appointments/AppointmentPage";
import { MyAppointmentsPage } from "../features/appointments/MyAppointmentsPage";
import { RequestAppointmentPage } from "../features/appointments/RequestAppointmentPage";
import { CallbackPage } from "../features/auth/CallbackPage";
import { AvailabilityPage } from "../features/availability/AvailabilityPage";
import { RequireSignIn } from "../features/auth/RequireSignIn";
import { FindProfessionalPage } from "../features/booking/FindProfessionalPage";
import { HomePage } from "../features/home/HomePage";
import { AgendaPage } from "../features/practice/AgendaPage";
import { InboxPage } from "../features/practice/InboxPage";
import { Layout } from "./Layout";
import { NotFoundPage } from "./NotFoundPage";
import { Loading } from "../shared/Loading";

// Pages few people open (their own account, domain administration) load on demand: a smaller first download.
const AccountPage = lazy(() =>
  import("../features/account/AccountPage").then((page) => ({ default: page.AccountPage })),
);
const DomainsPage = lazy(() => import("../features/admin/DomainsPage").then((page) => ({ default: page.DomainsPage })));
const VerificationPage = lazy(() =>
  import("../features/verification/VerificationPage").then((page) => ({ default: page.VerificationPage })),
);
const DomainEditorPage = lazy(() =>
  import("../features/admin/DomainEditorPage").then((page) => ({ default: page.DomainEditorPage })),
);

function OnDemand({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<HomePage />} />
        <Route path="auth/callback" element={<CallbackPage />} />
        <Route path="professionals" element={<FindProfessionalPage />} />
        <Route
          path="availability"
          element={<RequireSignIn>{(user) => <AvailabilityPage user={user} />}</RequireSignIn>}
        />
        <Route path="appointments" element={<RequireSignIn>{() => <MyAppointmentsPage />}</RequireSignIn>} />
        <Route path="inbox" element={<RequireSignIn>{(user) => <InboxPage user={user} />}</RequireSignIn>} />
        <Route path="agenda" element={<RequireSignIn>{(user) => <AgendaPage user={user} />}</RequireSignIn>} />
        <Route path="appointments/new" element={<RequireSignIn>{() => <RequestAppointmentPage />}</RequireSignIn>} />
        <Route
          path="appointments/:appointmentId"
          element={<RequireSignIn>{(user) => <AppointmentPage user={user} />}</RequireSignIn>}
        />
        <Route
          path="account"
          element={
            <RequireSignIn>
              {(user) => (
                <OnDemand>
                  <AccountPage user={user} />
                </OnDemand>
              )}
            </RequireSignIn>
          }
        />
        <Route
          path="admin/domains"
          element={
            <RequireSignIn>
              {(user) => (
                <OnDemand>
                  <DomainsPage user={user} />
                </OnDemand>
              )}
            </RequireSignIn>
          }
        />
        <Route
          path="admin/domains/:name"
          element={
            <RequireSignIn>
              {(user) => (
                <OnDemand>
                  <DomainEditorPage user={user} />
                </OnDemand>
              )}
            </RequireSignIn>
          }
        />
        <Route
          path="verification"
          element={
            <RequireSignIn>
              {(user) => (
                <OnDemand>
                  <VerificationPage user={user} />
                </OnDemand>
              )}
            </RequireSignIn>
          }
        />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
