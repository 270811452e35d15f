//! The session as the app and the CLI see it (`daypass_proto::ipc::SessionView`), with the time
//! left counted from `now` and, while the broker holds the grant, why.

use crate::session::{Closed, State};
use daypass_proto::api::SuspensionView;
use daypass_proto::ipc::{ClosedReason, SessionView};
use daypass_proto::Grant;
use time::OffsetDateTime;

pub fn session_view(state: &State, suspended: Option<&SuspensionView>, now: OffsetDateTime) -> SessionView {
    let left = |g: &Grant| (g.not_after - now).whole_seconds().max(0);
    match state {
        State::Idle => SessionView::Idle,
        State::Requesting => SessionView::Requesting,
        State::PendingApproval { request } => SessionView::PendingApproval { request: *request },
        State::Active { grant } => SessionView::Active {
            seconds_left: left(grant),
            grant: Box::new(grant.clone()),
            suspended: suspended.cloned().map(Box::new),
        },
        State::Expiring { grant } => SessionView::Expiring {
            seconds_left: left(grant),
            grant: Box::new(grant.clone()),
            suspended: suspended.cloned().map(Box::new),
        },
        State::Closed { why } => SessionView::Closed {
            why: match why {
                Closed::Expired => ClosedReason::Expired,
                Closed::Revoked { reason } => ClosedReason::Revoked {
                    detail: reason.clone(),
                },
                Closed::Denied { reason } => ClosedReason::Denied {
                    detail: reason.clone(),
                },
                Closed::Disconnected => ClosedReason::Disconnected,
                Closed::Failed { reason } => ClosedReason::Failed {
                    detail: reason.clone(),
                },
            },
        },
    }
}
