//! Masking of persons' data in responses (spec data-authorization.md §11.4): which store fields
//! each person-reading endpoint shows ([`FIELDS`]), the items of the classification they carry,
//! and a [`Reading`] that masks each value by its item for the view the privacy engine allowed
//! (the case view by default, in clear when revealed with a reason). Every such response carries
//! the header [`DATA_ITEMS_HEADER`] (the item codes it may hold) and [`DATA_VIEW_HEADER`]
//! (`masked` or `revealed`).

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use yibao_privacy::staff::{apply_mask, mask_rule, MaskRule, View};
use yibao_privacy::{builtin, ItemSet};

/// The response header naming the classification items a response may carry, comma-separated
/// (`ID01,ID02,ID04,…`).
pub const DATA_ITEMS_HEADER: &str = "X-Data-Items";
/// The response header saying whether values are `masked` (§11.4 case view) or `revealed`.
pub const DATA_VIEW_HEADER: &str = "X-Data-View";

/// The store fields (`table`, `column`) each endpoint that reads one person's record shows:
/// what the privacy decision weighs and what the response's items are.
pub const FIELDS: &[(&str, &[(&str, &str)])] = &[
    (
        "GET /api/v1/persons/{psn_no}",
        &[
            ("person", "psn_no"),
            ("person", "psn_name"),
            ("person", "certno"),
            ("person", "gend"),
            ("insurance", "insutype"),
            ("insurance", "psn_type"),
            ("insurance", "psn_insu_stas"),
            ("insurance", "begndate"),
            ("insurance", "insuplc_admdvs"),
        ],
    ),
    (
        "GET /api/v1/registry/persons/{psn_no}",
        &[
            ("person", "psn_no"),
            ("person", "psn_name"),
            ("person", "certno"),
            ("person", "gend"),
            ("household_member", "hh_id"),
            ("household_member", "hh_rel"),
            ("household_member", "admdvs"),
            ("identity_assignment", "idet_type"),
            ("identity_assignment", "category"),
            ("disability_certificate", "dsab_type"),
            ("disability_certificate", "dsab_lv"),
            ("insurance", "insutype"),
            ("insurance", "psn_type"),
            ("insurance", "psn_insu_stas"),
            ("insurance", "begndate"),
            ("insurance", "insuplc_admdvs"),
        ],
    ),
    (
        "GET /api/v1/registry/persons/{psn_no}/decisions",
        &[("person", "psn_no"), ("identity_assignment", "sp_psn_type")],
    ),
    (
        "GET /api/v1/persons/{psn_no}/personal-account",
        &[
            ("person", "psn_no"),
            ("personal_account_payout", "amount_fen"),
            ("personal_account_payout", "bank_account"),
            ("personal_account_payout_line", "heir_psn_no"),
        ],
    ),
    (
        "POST /api/v1/persons/{psn_no}/personal-account/withdrawals",
        &[
            ("person", "psn_no"),
            ("personal_account_payout", "amount_fen"),
            ("personal_account_payout", "bank_account"),
        ],
    ),
    (
        "POST /api/v1/persons/{psn_no}/personal-account/inheritance",
        &[
            ("person", "psn_no"),
            ("personal_account_payout", "amount_fen"),
            ("personal_account_payout_line", "paid_to"),
            ("personal_account_payout_line", "heir_psn_no"),
        ],
    ),
    (
        "POST /api/v1/contributions/refunds",
        &[
            ("person", "psn_no"),
            ("contribution_refund", "amount_fen"),
            ("contribution_refund", "paid_to"),
        ],
    ),
];

/// The items the fields of `action` carry (empty for an action not in [`FIELDS`]).
pub fn items_of_action(action: &str) -> ItemSet {
    let classification = builtin();
    FIELDS
        .iter()
        .filter(|(known, _)| *known == action)
        .flat_map(|(_, fields)| fields.iter())
        .fold(ItemSet::new(), |items, (table, column)| {
            items.union(&classification.items_for_field(table, column))
        })
}

/// A permitted read: how its values are shown and which items it carries.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The view the engine allowed.
    pub view: View,
    /// Whether diagnoses and drugs show in clear.
    pub clinical: bool,
    /// The items the response may carry.
    pub items: ItemSet,
}

impl Reading {
    /// A read of no one person's record (lists, cases): values shown as stored by the handler.
    pub fn unbound() -> Reading {
        Reading {
            view: View::Case,
            clinical: false,
            items: ItemSet::new(),
        }
    }

    /// The value of store field `table.column`, masked by its items for this read's view: the
    /// most restrictive rule of the items the column can hold wins (a column of no item is
    /// shown as it is).
    pub fn show(&self, table: &str, column: &str, value: &str) -> String {
        let classification = builtin();
        let length = value.chars().count();
        let rule = classification
            .items_for_field(table, column)
            .iter()
            .map(|code| {
                let level = classification
                    .item(code)
                    .map_or(yibao_privacy::Level::L3, |item| item.level);
                mask_rule(code, level, self.view, self.clinical)
            })
            .min_by_key(|rule| rule.visible_max(length))
            .unwrap_or(MaskRule::Clear);
        apply_mask(rule, value)
    }

    /// The response with the data headers.
    pub fn respond<T: IntoResponse>(&self, body: T) -> DataResponse<T> {
        DataResponse {
            items: self
                .items
                .iter()
                .map(|code| code.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(","),
            revealed: self.view == View::Revealed,
            body,
        }
    }
}

/// A response that carries persons' data, with [`DATA_ITEMS_HEADER`] and [`DATA_VIEW_HEADER`].
#[derive(Debug)]
pub struct DataResponse<T> {
    items: String,
    revealed: bool,
    body: T,
}

impl<T: IntoResponse> IntoResponse for DataResponse<T> {
    fn into_response(self) -> Response {
        let mut response = self.body.into_response();
        let headers = response.headers_mut();
        if let Ok(items) = HeaderValue::from_str(&self.items) {
            headers.insert(DATA_ITEMS_HEADER, items);
        }
        headers.insert(
            DATA_VIEW_HEADER,
            HeaderValue::from_static(if self.revealed { "revealed" } else { "masked" }),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(view: View) -> Reading {
        Reading {
            view,
            clinical: false,
            items: items_of_action("GET /api/v1/persons/{psn_no}"),
        }
    }

    #[test]
    fn values_mask_by_their_items() {
        let case = reading(View::Case);
        assert_eq!(
            case.show("person", "certno", "140502198001011234"),
            "140***********1234"
        );
        assert_eq!(case.show("person", "psn_name", "张三"), "张三");
        assert_eq!(case.show("person", "tel", "13800000001"), "138****0001");
        assert_eq!(
            case.show(
                "personal_account_payout",
                "bank_account",
                "6222020200112233"
            ),
            "************2233"
        );
        assert_eq!(case.show("nowhere", "nothing", "abc"), "abc");
        let list = reading(View::List);
        assert_eq!(list.show("person", "psn_name", "张三丰"), "张**");
        let revealed = reading(View::Revealed);
        assert_eq!(
            revealed.show("person", "certno", "140502198001011234"),
            "140502198001011234"
        );
    }

    #[test]
    fn every_action_carries_items() {
        for (action, _) in FIELDS {
            let items = items_of_action(action);
            assert!(!items.is_empty(), "{action}");
        }
        let person = items_of_action("GET /api/v1/persons/{psn_no}");
        let codes: Vec<String> = person.iter().map(|code| code.as_str().to_owned()).collect();
        for code in ["ID01", "ID02", "ID04", "IN01"] {
            assert!(codes.iter().any(|held| held == code), "{codes:?}");
        }
        assert!(items_of_action("GET /api/v1/nothing").is_empty());
    }
}
