//! Bureau staff access (§11, the pure part): roles and their posts, separation of duties
//! (static and per case), masking for display (§11.4) and the decision on a staff read of a
//! person's record, with break-glass (§11.5).

use std::fmt;

use crate::classification::{builtin, item, ItemCode, ItemSet, Level};
use crate::error::PrivacyError;
use crate::limits::{BREAK_GLASS_MS, REASON_CHARS_MAX, REVEALS_PER_DAY_MAX, SERVICE_SESSION_MS};
use crate::time::Millis;

/// A staff role. The store's codes (`reviewer` … `front_desk`) plus the 三员 management roles
/// and the inspector of §11.1; the store's `admin` and `auditor` hold the posts of the system
/// administrator and the security auditor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// 系统管理员: operates systems; reads no business data, changes no permissions.
    SystemAdministrator,
    /// 安全管理员: assigns roles and policies on approved requests.
    SecurityAdministrator,
    /// 安全审计员: reads logs and audit details; changes nothing.
    SecurityAuditor,
    /// 初审.
    Reviewer,
    /// 复审.
    SeniorReviewer,
    /// 终审.
    FinalReviewer,
    /// The store's `auditor` (安全审计员 post).
    Auditor,
    /// The store's `admin` (系统管理员 post).
    Admin,
    /// 基金财务.
    Finance,
    /// A designated institution's user.
    Institution,
    /// 窗口经办.
    FrontDesk,
    /// 稽核.
    Inspector,
}

/// A post (岗位): roles of different posts are never held by one person (§11.3 static).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Post {
    /// 系统管理.
    SystemManagement,
    /// 安全管理.
    SecurityManagement,
    /// 安全审计.
    SecurityAudit,
    /// 业务运行.
    Business,
    /// 基金财务.
    Finance,
    /// 稽核内控.
    Inspection,
    /// Outside users (institutions).
    Outside,
}

impl StaffRole {
    /// Every role.
    pub const ALL: [StaffRole; 12] = [
        StaffRole::SystemAdministrator,
        StaffRole::SecurityAdministrator,
        StaffRole::SecurityAuditor,
        StaffRole::Reviewer,
        StaffRole::SeniorReviewer,
        StaffRole::FinalReviewer,
        StaffRole::Auditor,
        StaffRole::Admin,
        StaffRole::Finance,
        StaffRole::Institution,
        StaffRole::FrontDesk,
        StaffRole::Inspector,
    ];

    /// The code stored and logged.
    pub fn code(self) -> &'static str {
        match self {
            StaffRole::SystemAdministrator => "system_admin",
            StaffRole::SecurityAdministrator => "security_admin",
            StaffRole::SecurityAuditor => "security_auditor",
            StaffRole::Reviewer => "reviewer",
            StaffRole::SeniorReviewer => "senior_reviewer",
            StaffRole::FinalReviewer => "final_reviewer",
            StaffRole::Auditor => "auditor",
            StaffRole::Admin => "admin",
            StaffRole::Finance => "finance",
            StaffRole::Institution => "institution",
            StaffRole::FrontDesk => "front_desk",
            StaffRole::Inspector => "inspector",
        }
    }

    /// The role with this code.
    pub fn parse(code: &str) -> Option<StaffRole> {
        StaffRole::ALL.into_iter().find(|role| role.code() == code)
    }

    /// Its post.
    pub fn post(self) -> Post {
        match self {
            StaffRole::SystemAdministrator | StaffRole::Admin => Post::SystemManagement,
            StaffRole::SecurityAdministrator => Post::SecurityManagement,
            StaffRole::SecurityAuditor | StaffRole::Auditor => Post::SecurityAudit,
            StaffRole::Reviewer
            | StaffRole::SeniorReviewer
            | StaffRole::FinalReviewer
            | StaffRole::FrontDesk => Post::Business,
            StaffRole::Finance => Post::Finance,
            StaffRole::Inspector => Post::Inspection,
            StaffRole::Institution => Post::Outside,
        }
    }

    /// Whether the role may read persons' records at all (§11.1 "may not").
    pub fn reads_records(self) -> bool {
        matches!(
            self,
            StaffRole::Reviewer
                | StaffRole::SeniorReviewer
                | StaffRole::FinalReviewer
                | StaffRole::FrontDesk
                | StaffRole::Finance
                | StaffRole::Inspector
        )
    }

    /// Whether the role sees clinical items (diagnoses, drugs) in clear in a case.
    pub fn clinical(self) -> bool {
        matches!(
            self,
            StaffRole::Reviewer
                | StaffRole::SeniorReviewer
                | StaffRole::FinalReviewer
                | StaffRole::Inspector
        )
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Static separation of duties: every pair of roles held must share a post (§11.3).
pub fn check_roles(roles: &[StaffRole]) -> Result<(), PrivacyError> {
    for (idx, a) in roles.iter().enumerate() {
        for b in &roles[idx + 1..] {
            if a.post() != b.post() {
                return Err(PrivacyError::IncompatibleRoles {
                    a: a.code(),
                    b: b.code(),
                });
            }
        }
    }
    Ok(())
}

/// A step of the three-stage review (初审 → 复审 → 终审).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReviewStep {
    /// 初审.
    First,
    /// 复审.
    Second,
    /// 终审.
    Final,
}

impl ReviewStep {
    fn name(self) -> &'static str {
        match self {
            ReviewStep::First => "first review",
            ReviewStep::Second => "second review",
            ReviewStep::Final => "final review",
        }
    }

    fn role(self) -> StaffRole {
        match self {
            ReviewStep::First => StaffRole::Reviewer,
            ReviewStep::Second => StaffRole::SeniorReviewer,
            ReviewStep::Final => StaffRole::FinalReviewer,
        }
    }
}

/// Dynamic separation of duties on one case: steps in order, each by its role, and the actors
/// of the three steps pairwise different (§11.3).
pub fn check_review_step(
    history: &[(ReviewStep, String)],
    step: ReviewStep,
    actor: &str,
    roles: &[StaffRole],
) -> Result<(), PrivacyError> {
    let conflict = |reason| {
        Err(PrivacyError::DutyConflict {
            step: step.name(),
            reason,
        })
    };
    if !roles.contains(&step.role()) {
        return conflict("the actor does not hold the step's role");
    }
    let done = |wanted: ReviewStep| history.iter().any(|(s, _)| *s == wanted);
    if done(step) {
        return conflict("the step was already taken");
    }
    let previous = match step {
        ReviewStep::First => None,
        ReviewStep::Second => Some(ReviewStep::First),
        ReviewStep::Final => Some(ReviewStep::Second),
    };
    if previous.is_some_and(|previous| !done(previous)) {
        return conflict("the previous step has not been taken");
    }
    if history.iter().any(|(_, who)| who == actor) {
        return conflict("the actor took an earlier step of this case");
    }
    Ok(())
}

/// Maker–checker: the creator of a correction, reimbursement or permission request is not its
/// approver (§11.3).
pub fn check_approver(maker: &str, approver: &str) -> Result<(), PrivacyError> {
    if maker == approver {
        return Err(PrivacyError::DutyConflict {
            step: "approval",
            reason: "the maker may not approve their own work",
        });
    }
    Ok(())
}

/// Where a value is shown (§11.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// Lists and reports.
    List,
    /// One case, by default.
    Case,
    /// Revealed with a reason (logged).
    Revealed,
}

/// How a value is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaskRule {
    /// In clear.
    Clear,
    /// Nothing shown (a fixed `****`, so not even the length shows).
    Hidden,
    /// The surname and one `*` per other character: `张**`.
    SurnameOnly,
    /// Only the last n characters.
    LastN(usize),
    /// The first and last characters: `138****5678`.
    FirstLast(usize, usize),
    /// An address up to its district (区/县/旗, else 市).
    District,
    /// An address up to its street (街道/路/镇/乡), else its district.
    DistrictStreet,
    /// A code's first three characters (the ICD-10 category).
    CodeCategory,
    /// The `受限` placeholder (L3).
    Restricted,
}

/// The placeholder for level-3 values.
pub const RESTRICTED: &str = "受限";
/// What a hidden value shows.
pub const HIDDEN: &str = "****";

impl MaskRule {
    /// The most characters of a value of `len` characters the rule may show.
    pub fn visible_max(self, len: usize) -> usize {
        match self {
            MaskRule::Clear | MaskRule::District | MaskRule::DistrictStreet => len,
            MaskRule::Hidden | MaskRule::Restricted => 0,
            MaskRule::SurnameOnly => len.min(1),
            MaskRule::LastN(n) => {
                if len > n {
                    n
                } else {
                    0
                }
            }
            MaskRule::FirstLast(first, last) => {
                if len > first + last {
                    first + last
                } else {
                    0
                }
            }
            MaskRule::CodeCategory => len.min(3),
        }
    }
}

/// The rule for an item at a level in a view (§11.4); `clinical` is whether the viewer's role
/// sees diagnoses and drugs in clear. Items the table does not name follow their level: L1 in
/// clear, L2 hidden in lists and clear in a case (the case is the business need, §11.2), L3
/// always restricted unless revealed.
pub fn mask_rule(code: ItemCode, level: Level, view: View, clinical: bool) -> MaskRule {
    if view == View::Revealed {
        return MaskRule::Clear;
    }
    if level == Level::L3 {
        return MaskRule::Restricted;
    }
    let list = view == View::List;
    match code.as_str() {
        "ID02" if list => MaskRule::SurnameOnly,
        "ID02" => MaskRule::Clear,
        "ID04" if list => MaskRule::LastN(4),
        "ID04" => MaskRule::FirstLast(3, 4),
        "ID09" if list => MaskRule::Hidden,
        "ID09" => MaskRule::LastN(4),
        "CT01" => MaskRule::FirstLast(3, 4),
        "CT02" | "CT03" if list => MaskRule::District,
        "CT02" | "CT03" => MaskRule::DistrictStreet,
        "AC05" => MaskRule::LastN(4),
        "VS04" | "RX01" if list || !clinical => MaskRule::CodeCategory,
        "VS04" | "RX01" => MaskRule::Clear,
        _ => match (level, list) {
            (Level::L2, true) => MaskRule::Hidden,
            _ => MaskRule::Clear,
        },
    }
}

/// Applies a rule to a value.
pub fn apply_mask(rule: MaskRule, value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let len = chars.len();
    let keep = |first: usize, last: usize| -> String {
        if len <= first + last {
            return "*".repeat(len);
        }
        chars[..first]
            .iter()
            .copied()
            .chain(std::iter::repeat_n('*', len - first - last))
            .chain(chars[len - last..].iter().copied())
            .collect()
    };
    let through = |markers: &[&str]| -> Option<String> {
        markers
            .iter()
            .filter_map(|marker| value.find(marker).map(|at| at + marker.len()))
            .min()
            .map(|end| value[..end].to_string())
    };
    match rule {
        MaskRule::Clear => value.to_string(),
        MaskRule::Hidden => HIDDEN.to_string(),
        MaskRule::Restricted => RESTRICTED.to_string(),
        MaskRule::SurnameOnly => keep(1.min(len), 0),
        MaskRule::LastN(n) => keep(0, n),
        MaskRule::FirstLast(first, last) => keep(first, last),
        MaskRule::District => through(&["区", "县", "旗"])
            .or_else(|| through(&["市"]))
            .unwrap_or_else(|| HIDDEN.to_string()),
        MaskRule::DistrictStreet => through(&["街道", "路", "镇", "乡"])
            .or_else(|| apply_district(value))
            .unwrap_or_else(|| HIDDEN.to_string()),
        MaskRule::CodeCategory => chars.iter().take(3).collect(),
    }
}

fn apply_district(value: &str) -> Option<String> {
    let masked = apply_mask(MaskRule::District, value);
    (masked != HIDDEN).then_some(masked)
}

/// Masks an item's value for a clinical viewer at the item's own level: `mask(ID04, …, Case)`
/// gives `110***********1234`. Use [`mask_rule`] and [`apply_mask`] when the record's values
/// raised the level or the viewer is not clinical.
pub fn mask(code: ItemCode, value: &str, view: View) -> String {
    let level = builtin().item(code).map_or(Level::L3, |item| item.level);
    apply_mask(mask_rule(code, level, view, true), value)
}

/// Why break-glass was invoked (§11.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakGlassReason {
    /// Urgent medical need.
    UrgentMedical,
    /// Fraud in progress (可疑骗保线索).
    FraudInProgress,
    /// A court or police request, with its document number.
    CourtOrPolice(String),
}

/// A break-glass grant of read access to one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    /// The staff member.
    pub actor: String,
    /// The subject's reference.
    pub subject_ref: String,
    /// The reason category.
    pub reason: BreakGlassReason,
    /// Free text (clipped to the log's limit).
    pub text: String,
    /// Start.
    pub started: Millis,
    /// End (exclusive): 2 hours later.
    pub until: Millis,
}

/// Opens break-glass (§11.5): inspectors and senior clerks only, with a reason category and
/// text; 2 hours, one subject. The caller alerts the security auditor and the supervisor, logs
/// it, shows it in the safe box and queues the review within 3 working days.
pub fn start_break_glass(
    actor: &str,
    roles: &[StaffRole],
    subject_ref: &str,
    reason: BreakGlassReason,
    text: &str,
    now: Millis,
) -> Result<BreakGlass, PrivacyError> {
    if !roles
        .iter()
        .any(|role| matches!(role, StaffRole::Inspector | StaffRole::SeniorReviewer))
    {
        return Err(PrivacyError::BreakGlassRefused(
            "only inspectors and senior clerks may",
        ));
    }
    if text.trim().is_empty() {
        return Err(PrivacyError::BreakGlassRefused("the reason text is empty"));
    }
    if matches!(&reason, BreakGlassReason::CourtOrPolice(document) if document.trim().is_empty()) {
        return Err(PrivacyError::BreakGlassRefused(
            "a court or police request needs its document number",
        ));
    }
    Ok(BreakGlass {
        actor: actor.to_string(),
        subject_ref: subject_ref.to_string(),
        reason,
        text: text.chars().take(REASON_CHARS_MAX).collect(),
        started: now,
        until: now.plus(BREAK_GLASS_MS),
    })
}

/// What gives a staff member access to one subject (§11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Nothing.
    None,
    /// A case.
    Case {
        /// The case id.
        case_id: String,
        /// The subject's reference.
        subject_ref: String,
        /// Assigned to this staff member.
        assigned_to: String,
        /// Who opened it (an inspector may not open their own cases).
        opened_by: String,
        /// Still open.
        open: bool,
    },
    /// A counter service session opened by scanning the person's credential.
    ServiceSession {
        /// The subject's reference.
        subject_ref: String,
        /// When it was opened.
        started: Millis,
    },
    /// Break-glass.
    BreakGlass(BreakGlass),
}

/// Why a reveal is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reveal {
    /// The reason (logged).
    pub reason: String,
    /// Whether a supervisor approved it (needed for L3).
    pub supervisor_approved: bool,
}

/// A staff read of a person's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRead {
    /// The staff member's id.
    pub actor: String,
    /// Their roles.
    pub roles: Vec<StaffRole>,
    /// The subject's reference (`subject_ref`, never a name).
    pub subject_ref: String,
    /// The items to show.
    pub items: ItemSet,
    /// The record's level with its values (就高不就低).
    pub level: Level,
    /// The purpose code (查询事由).
    pub purpose_code: String,
    /// A reveal, if asked.
    pub reveal: Option<Reveal>,
}

/// What the store knows around the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffContext {
    /// The clock.
    pub now: Millis,
    /// What opens this subject to this actor.
    pub access: Access,
    /// The actor's region (admdvs; `370000` covers `370200`).
    pub actor_region: String,
    /// The subject's 统筹区.
    pub subject_region: String,
    /// Whether the terminal is inside the private network.
    pub on_private_network: bool,
    /// Reveals by this actor today.
    pub reveals_today: u32,
    /// The actor's own subject reference.
    pub actor_subject_ref: String,
    /// References of the actor's bound family members and same-address persons.
    pub related_refs: Vec<String>,
}

/// Why a staff read was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffDenyReason {
    /// No purpose code.
    NoPurpose,
    /// No role of the actor reads records.
    RoleMayNotRead,
    /// Outside the private network.
    OffNetwork,
    /// The subject is outside the actor's region.
    OutsideRegion,
    /// The subject is the actor, a family member or shares their address.
    ConflictOfInterest,
    /// No open case, session or break-glass for this subject.
    NoOpenCase,
    /// An inspector's own case.
    SelfOpenedCase,
    /// The service session is over (30 min).
    SessionExpired,
    /// The break-glass window is over (2 h).
    BreakGlassExpired,
    /// A reveal without a reason.
    RevealNeedsReason,
    /// The daily reveal cap is reached.
    RevealCapReached,
    /// A bank account revealed to a non-finance role.
    RevealRoleNotAllowed,
    /// A level-3 reveal without a case and a supervisor's approval.
    RevealNeedsSupervisor,
}

impl StaffDenyReason {
    /// The code logged.
    pub fn code(&self) -> &'static str {
        match self {
            StaffDenyReason::NoPurpose => "NO_PURPOSE",
            StaffDenyReason::RoleMayNotRead => "ROLE_MAY_NOT_READ",
            StaffDenyReason::OffNetwork => "OFF_NETWORK",
            StaffDenyReason::OutsideRegion => "OUTSIDE_REGION",
            StaffDenyReason::ConflictOfInterest => "CONFLICT_OF_INTEREST",
            StaffDenyReason::NoOpenCase => "NO_OPEN_CASE",
            StaffDenyReason::SelfOpenedCase => "SELF_OPENED_CASE",
            StaffDenyReason::SessionExpired => "SESSION_EXPIRED",
            StaffDenyReason::BreakGlassExpired => "BREAK_GLASS_EXPIRED",
            StaffDenyReason::RevealNeedsReason => "REVEAL_NEEDS_REASON",
            StaffDenyReason::RevealCapReached => "REVEAL_CAP_REACHED",
            StaffDenyReason::RevealRoleNotAllowed => "REVEAL_ROLE_NOT_ALLOWED",
            StaffDenyReason::RevealNeedsSupervisor => "REVEAL_NEEDS_SUPERVISOR",
        }
    }
}

/// A permitted staff read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPermit {
    /// The items shown.
    pub items: ItemSet,
    /// The view: `Case` (masked per §11.4) or `Revealed`.
    pub view: View,
    /// Whether diagnoses and drugs show in clear.
    pub clinical: bool,
    /// When the access ends (session or break-glass), if it does by time.
    pub until: Option<Millis>,
    /// Read under break-glass: alert the security auditor and the supervisor.
    pub break_glass: bool,
    /// Tell the subject now (break-glass, level-3 reveal).
    pub notify_subject: bool,
}

/// The outcome of a staff read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffDecision {
    /// Show, masked or revealed.
    Permit(StaffPermit),
    /// Refuse (logged).
    Deny(StaffDenyReason),
}

fn region_covers(actor: &str, subject: &str) -> bool {
    let mut prefix = actor;
    while let Some(shorter) = prefix.strip_suffix("00") {
        prefix = shorter;
    }
    !prefix.is_empty() && subject.starts_with(prefix)
}

/// Decides a staff read (§11.2, §11.4, §11.5). Refusals in precedence order: purpose, role,
/// network, region, conflict of interest, access (case, session, break-glass), reveal rules.
pub fn decide_staff_read(read: &StaffRead, context: &StaffContext) -> StaffDecision {
    match check_staff_read(read, context) {
        Ok(permit) => StaffDecision::Permit(permit),
        Err(reason) => StaffDecision::Deny(reason),
    }
}

fn check_staff_read(
    read: &StaffRead,
    context: &StaffContext,
) -> Result<StaffPermit, StaffDenyReason> {
    if read.purpose_code.trim().is_empty() {
        return Err(StaffDenyReason::NoPurpose);
    }
    if !read.roles.iter().any(|role| role.reads_records()) {
        return Err(StaffDenyReason::RoleMayNotRead);
    }
    if !context.on_private_network {
        return Err(StaffDenyReason::OffNetwork);
    }
    if !region_covers(&context.actor_region, &context.subject_region) {
        return Err(StaffDenyReason::OutsideRegion);
    }
    if read.subject_ref == context.actor_subject_ref
        || context.related_refs.contains(&read.subject_ref)
    {
        return Err(StaffDenyReason::ConflictOfInterest);
    }
    let now = context.now;
    let (until, break_glass, on_case) = match &context.access {
        Access::None => return Err(StaffDenyReason::NoOpenCase),
        Access::Case {
            subject_ref,
            assigned_to,
            opened_by,
            open,
            ..
        } => {
            if !open || *subject_ref != read.subject_ref || *assigned_to != read.actor {
                return Err(StaffDenyReason::NoOpenCase);
            }
            if *opened_by == read.actor {
                return Err(StaffDenyReason::SelfOpenedCase);
            }
            (None, false, true)
        }
        Access::ServiceSession {
            subject_ref,
            started,
        } => {
            if *subject_ref != read.subject_ref {
                return Err(StaffDenyReason::NoOpenCase);
            }
            let until = started.plus(SERVICE_SESSION_MS);
            if now >= until || now < *started {
                return Err(StaffDenyReason::SessionExpired);
            }
            (Some(until), false, false)
        }
        Access::BreakGlass(glass) => {
            if glass.subject_ref != read.subject_ref || glass.actor != read.actor {
                return Err(StaffDenyReason::NoOpenCase);
            }
            if now >= glass.until || now < glass.started {
                return Err(StaffDenyReason::BreakGlassExpired);
            }
            (Some(glass.until), true, false)
        }
    };

    let mut view = View::Case;
    let mut notify_subject = break_glass;
    if let Some(reveal) = &read.reveal {
        if reveal.reason.trim().is_empty() {
            return Err(StaffDenyReason::RevealNeedsReason);
        }
        if context.reveals_today >= REVEALS_PER_DAY_MAX {
            return Err(StaffDenyReason::RevealCapReached);
        }
        if read.items.contains(item("AC05")) && !read.roles.contains(&StaffRole::Finance) {
            return Err(StaffDenyReason::RevealRoleNotAllowed);
        }
        if read.level == Level::L3 {
            if !(on_case && reveal.supervisor_approved) {
                return Err(StaffDenyReason::RevealNeedsSupervisor);
            }
            notify_subject = true;
        }
        view = View::Revealed;
    }
    Ok(StaffPermit {
        items: read.items.clone(),
        view,
        clinical: read.roles.iter().any(|role| role.clinical()),
        until,
        break_glass,
        notify_subject,
    })
}
