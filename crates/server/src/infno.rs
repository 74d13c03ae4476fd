//! Transaction codes (`infno`) served, and the per-service path aliases of spec §1.1.

/// A transaction code this server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is its code; the names are in `name()`.
pub enum Infno {
    SignIn9001,
    SignOut9002,
    PersonInfo1101,
    Register2201,
    CancelRegister2202,
    VisitInfo2203,
    VisitInfo2203A,
    FeeUpload2204,
    FeeCancel2205,
    PreSettle2206,
    PreSettle2206A,
    Settle2207,
    Settle2207A,
    SettleReverse2208,
    InpatientFeeUpload2301,
    InpatientFeeCancel2302,
    InpatientPreSettle2303,
    InpatientSettle2304,
    InpatientSettleReverse2305,
    Admit2401,
    Discharge2402,
    AdmissionChange2403,
    AdmissionCancel2404,
    DischargeUndo2405,
    Revoke2601,
    AuditBefore3101,
    AuditDuring3102,
    AuditFeedback3103,
    Reconcile3201,
    SettlementQuery5203,
    Cumulative5206,
    ChronicRecognition5301,
    SetlList4101,
    SetlList4101A,
    SetlListQuery4103,
    StmtDetail3202,
    ClearingApply3203,
    ClearingWithdraw3204,
    FileUpload9101,
    FileDownload9102,
    SetlListStatus4102,
    SetlListQc4104,
    Stocktake3501,
    StockChange3502,
    Purchase3503,
    PurchaseReturn3504,
    Sale3505,
    SaleReturn3506,
    InventoryDelete3507,
}

use Infno::*;

/// Every served code with its text, Chinese name and per-service path (§1.1), in one table.
const TABLE: &[(Infno, &str, &str, &[&str])] = &[
    (
        SignIn9001,
        "9001",
        "签到",
        &["/fsi/api/signInSignOutService/signIn"],
    ),
    (
        SignOut9002,
        "9002",
        "签退",
        &["/fsi/api/signInSignOutService/signOut"],
    ),
    (
        PersonInfo1101,
        "1101",
        "人员信息获取",
        &["/fsi/api/fsiPsnInfoService/queryPsnInfo"],
    ),
    (
        Register2201,
        "2201",
        "门诊挂号",
        &["/fsi/api/outpatientDocInfoService/outpatientRregistration"],
    ),
    (
        CancelRegister2202,
        "2202",
        "门诊挂号撤销",
        &["/fsi/api/outpatientDocInfoService/outpatientRegistrationCancel"],
    ),
    (
        VisitInfo2203,
        "2203",
        "门诊就诊信息上传",
        &["/fsi/api/outpatientDocInfoService/outpatientMdtrtinfoUp"],
    ),
    (
        VisitInfo2203A,
        "2203A",
        "门诊就诊信息上传",
        &["/fsi/api/outpatientDocInfoService/outpatientMdtrtinfoUpA"],
    ),
    (
        FeeUpload2204,
        "2204",
        "门诊费用明细信息上传",
        &["/fsi/api/outpatientDocInfoService/outpatientFeeListUp"],
    ),
    (
        FeeCancel2205,
        "2205",
        "门诊费用明细信息撤销",
        &["/fsi/api/outpatientDocInfoService/outpatientFeeListUpCancel"],
    ),
    (
        PreSettle2206,
        "2206",
        "门诊预结算",
        &["/fsi/api/outpatientSettleService/preSettletment"],
    ),
    (
        PreSettle2206A,
        "2206A",
        "门诊预结算",
        &["/fsi/api/outpatientSettleService/preSettletmentA"],
    ),
    (
        Settle2207,
        "2207",
        "门诊结算",
        &["/fsi/api/outpatientSettleService/saveSettletmentV2"],
    ),
    (
        Settle2207A,
        "2207A",
        "门诊结算",
        &[
            "/fsi/api/outpatientSettleService/saveSettletment",
            "/fsi/api/outpatientSettleService/saveSettletmentA",
        ],
    ),
    (
        SettleReverse2208,
        "2208",
        "门诊结算撤销",
        &["/fsi/api/outpatientSettleService/cancleSettletment"],
    ),
    (
        InpatientFeeUpload2301,
        "2301",
        "住院费用明细上传",
        &["/fsi/api/hospFeeDtlService/feeDtlUp"],
    ),
    (
        InpatientFeeCancel2302,
        "2302",
        "住院费用明细撤销",
        &["/fsi/api/hospFeeDtlService/feeDtlCl"],
    ),
    (
        InpatientPreSettle2303,
        "2303",
        "住院预结算",
        &["/fsi/api/hospSettService/preSett"],
    ),
    (
        InpatientSettle2304,
        "2304",
        "住院结算",
        &["/fsi/api/hospSettService/settV2"],
    ),
    (
        InpatientSettleReverse2305,
        "2305",
        "住院结算撤销",
        &["/fsi/api/hospSettService/settCl"],
    ),
    (
        Admit2401,
        "2401",
        "入院办理",
        &["/fsi/api/hospitalRegisterService/hospitalRegisterSave"],
    ),
    (
        Discharge2402,
        "2402",
        "出院办理",
        &["/fsi/api/dscgService/dischargeProcess"],
    ),
    (
        AdmissionChange2403,
        "2403",
        "入院信息变更",
        &["/fsi/api/hospitalRegisterService/hospitalRegisterEdit"],
    ),
    (
        AdmissionCancel2404,
        "2404",
        "入院撤销",
        &["/fsi/api/hospitalRegisterService/hospitalRegisterCancel"],
    ),
    (
        DischargeUndo2405,
        "2405",
        "出院撤销",
        &["/fsi/api/dscgService/dischargeUndo"],
    ),
    (
        Revoke2601,
        "2601",
        "冲正交易",
        &["/fsi/api/reverseService/revsMethod"],
    ),
    (
        AuditBefore3101,
        "3101",
        "明细审核事前分析服务",
        &["/fsi/api/riskConService/beforeAnalyze"],
    ),
    (
        AuditDuring3102,
        "3102",
        "明细审核事中分析服务",
        &["/fsi/api/riskConService/courseAnalyze"],
    ),
    (AuditFeedback3103, "3103", "事前事中服务反馈服务", &[]),
    (
        Reconcile3201,
        "3201",
        "医药机构费用结算对总账",
        &["/fsi/api/ybSettlementStmtService/stmtTotal"],
    ),
    (
        SettlementQuery5203,
        "5203",
        "结算信息查询",
        &["/fsi/api/fsiIntegratedQueryService/querySetlInfo"],
    ),
    (Cumulative5206, "5206", "人员累计信息查询", &[]),
    (
        ChronicRecognition5301,
        "5301",
        "人员慢特病备案查询",
        &["/fsi/api/fsiIntegratedQueryService/queryPsnOpspReg"],
    ),
    (
        SetlList4101,
        "4101",
        "医疗保障基金结算清单信息上传",
        &["/fsi/api/medinfoupload/setllistinfoupld"],
    ),
    (
        SetlList4101A,
        "4101A",
        "医疗保障基金结算清单信息上传",
        &["/fsi/api/medinfoupload/setllistinfoupldA"],
    ),
    (
        SetlListQuery4103,
        "4103",
        "医疗保障基金结算清单信息查询",
        &[],
    ),
    (
        StmtDetail3202,
        "3202",
        "医药机构费用结算对明细账",
        &["/fsi/api/ybSettlementStmtService/stmtDetail"],
    ),
    (ClearingApply3203, "3203", "清算申请", &[]),
    (ClearingWithdraw3204, "3204", "撤销清算申请", &[]),
    (
        FileUpload9101,
        "9101",
        "文件上传",
        &["/fsi/api/fileupload/upload"],
    ),
    (
        FileDownload9102,
        "9102",
        "文件下载",
        &["/fsi/api/fileupload/download"],
    ),
    (
        SetlListStatus4102,
        "4102",
        "医疗保障基金结算清单信息状态修改",
        &[],
    ),
    (
        SetlListQc4104,
        "4104",
        "医疗保障基金结算清单质控结果查询",
        &["/fsi/api/medinfoupload/queryQltctrlProblemPage"],
    ),
    (Stocktake3501, "3501", "商品盘存上传", &[]),
    (StockChange3502, "3502", "商品信息变更", &[]),
    (Purchase3503, "3503", "商品采购", &[]),
    (PurchaseReturn3504, "3504", "商品采购退货", &[]),
    (Sale3505, "3505", "商品销售", &[]),
    (SaleReturn3506, "3506", "商品销售退货", &[]),
    (InventoryDelete3507, "3507", "商品信息删除", &[]),
];

/// The single endpoint of §1.1.
pub const CALL_SERVICE_PATH: &str = "/fsi/api/rsfComIfsService/callService";

impl Infno {
    /// Reads a code as sent in `infno` (exact, upper-case `A` suffix).
    pub fn parse(text: &str) -> Option<Infno> {
        TABLE
            .iter()
            .find(|(_, code, _, _)| *code == text)
            .map(|(infno, _, _, _)| *infno)
    }

    /// The code as it appears on the wire (`2207A`).
    pub fn code(self) -> &'static str {
        self.row().1
    }

    /// The Chinese name of the transaction.
    pub fn name(self) -> &'static str {
        self.row().2
    }

    fn row(self) -> &'static (Infno, &'static str, &'static str, &'static [&'static str]) {
        TABLE
            .iter()
            .find(|(infno, _, _, _)| *infno == self)
            .expect("every Infno is in TABLE")
    }

    /// Every served code.
    pub fn all() -> impl Iterator<Item = Infno> {
        TABLE.iter().map(|(infno, _, _, _)| *infno)
    }

    /// Every per-service alias path with the code it serves.
    pub fn aliases() -> impl Iterator<Item = (&'static str, Infno)> {
        TABLE
            .iter()
            .flat_map(|(infno, _, _, paths)| paths.iter().map(move |path| (*path, *infno)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_paths_are_unique() {
        for infno in Infno::all() {
            assert_eq!(Infno::parse(infno.code()), Some(infno));
        }
        let mut paths: Vec<_> = Infno::aliases().map(|(path, _)| path).collect();
        let n_paths = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), n_paths, "an alias path serves two codes");
        assert_eq!(Infno::parse("2207a"), None);
        assert_eq!(Infno::parse("9999"), None);
    }
}
