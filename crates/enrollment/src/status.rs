//! The insurance relation's status machine (spec enrollment.md §4.1) as a pure transition
//! function: a refused transition names its from-status, the event and why.

/// `psn_insu_stas`: a relation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `0` 未参保: no relation yet.
    NotInsured,
    /// `1` 正常参保.
    Normal,
    /// `2` 暂停参保.
    Paused,
    /// `3` 无效参保: registered in error.
    Void,
    /// `4` 终止参保: final for the relation.
    Terminated,
}

/// Every status.
pub const STATUSES: [Status; 5] = [
    Status::NotInsured,
    Status::Normal,
    Status::Paused,
    Status::Void,
    Status::Terminated,
];

impl Status {
    /// The interface code (`0`–`4`).
    pub fn code(self) -> &'static str {
        match self {
            Status::NotInsured => "0",
            Status::Normal => "1",
            Status::Paused => "2",
            Status::Void => "3",
            Status::Terminated => "4",
        }
    }

    /// Whether no event leaves the status.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Void | Status::Terminated)
    }
}

/// An event on a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusEvent {
    /// 参保登记.
    Register,
    /// 暂停.
    Pause,
    /// 恢复 / 续保.
    Resume,
    /// 终止 (death, transfer out, duplicate, emigration).
    Terminate,
    /// 无效: the registration was an error.
    Void,
}

/// Every event.
pub const STATUS_EVENTS: [StatusEvent; 5] = [
    StatusEvent::Register,
    StatusEvent::Pause,
    StatusEvent::Resume,
    StatusEvent::Terminate,
    StatusEvent::Void,
];

impl StatusEvent {
    /// The stable name (`register` …).
    pub fn key(self) -> &'static str {
        match self {
            StatusEvent::Register => "register",
            StatusEvent::Pause => "pause",
            StatusEvent::Resume => "resume",
            StatusEvent::Terminate => "terminate",
            StatusEvent::Void => "void",
        }
    }

    /// The status the event leads to where it is allowed.
    pub fn target(self) -> Status {
        match self {
            StatusEvent::Register | StatusEvent::Resume => Status::Normal,
            StatusEvent::Pause => Status::Paused,
            StatusEvent::Terminate => Status::Terminated,
            StatusEvent::Void => Status::Void,
        }
    }
}

/// A transition the machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{event} ({from_code} → {to_code}) is not allowed: {reason}", event = .event.key(), from_code = .from.code(), to_code = .to.code())]
pub struct TransitionRefused {
    /// The current status.
    pub from: Status,
    /// The status the event would lead to.
    pub to: Status,
    /// The event refused.
    pub event: StatusEvent,
    /// Why.
    pub reason: &'static str,
}

/// The status after `event` (§4.1): register 0→1, pause 1→2, resume 2→1, terminate 1/2→4,
/// void any live status→3. Statuses 3 and 4 are final for the relation: insuring again opens a
/// new relation or segment, decided outside this function.
pub fn transition(from: Status, event: StatusEvent) -> Result<Status, TransitionRefused> {
    let refuse = |reason| TransitionRefused {
        from,
        to: event.target(),
        event,
        reason,
    };
    if from == Status::Terminated {
        return Err(refuse(
            "a terminated relation is final; insuring again opens a new one",
        ));
    }
    if from == Status::Void {
        return Err(refuse("a void relation is final"));
    }
    match (from, event) {
        (_, StatusEvent::Void) => Ok(Status::Void),
        (Status::NotInsured, StatusEvent::Register) => Ok(Status::Normal),
        (_, StatusEvent::Register) => Err(refuse("the relation is already registered")),
        (Status::Normal, StatusEvent::Pause) => Ok(Status::Paused),
        (_, StatusEvent::Pause) => Err(refuse("only a normal relation can be paused")),
        (Status::Paused, StatusEvent::Resume) => Ok(Status::Normal),
        (_, StatusEvent::Resume) => Err(refuse("only a paused relation can be resumed")),
        (Status::Normal | Status::Paused, StatusEvent::Terminate) => Ok(Status::Terminated),
        (_, StatusEvent::Terminate) => Err(refuse("there is no relation to terminate")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_section_4_1() {
        use Status::{Normal, NotInsured, Paused, Terminated};
        use StatusEvent::{Pause, Register, Resume, Terminate};
        let allowed = [
            (NotInsured, Register, Normal),
            (Normal, Pause, Paused),
            (Paused, Resume, Normal),
            (Normal, Terminate, Terminated),
            (Paused, Terminate, Terminated),
            (NotInsured, StatusEvent::Void, Status::Void),
            (Normal, StatusEvent::Void, Status::Void),
            (Paused, StatusEvent::Void, Status::Void),
        ];
        for from in STATUSES {
            for event in STATUS_EVENTS {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (transition(from, event), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want),
                    (Err(refused), None) => {
                        assert_eq!((refused.from, refused.event), (from, event));
                        assert_eq!(refused.to, event.target());
                    }
                    (got, want) => panic!("{from:?} {event:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        let refused = transition(Terminated, Resume).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "resume (4 → 1) is not allowed: a terminated relation is final; insuring again opens a new one"
        );
    }
}
