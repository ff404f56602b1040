//! The one translation table of the web interface: every user-visible string of the pages
//! goes through [`tr`] (from Rust) or `t("key")` (from templates), in Simplified Chinese (the
//! default) and English.
//!
//! Policy texts (kind, state, field and action labels) come from the policy itself: `label`
//! is Chinese, `label_en` English when the policy gives one ([`Lang::pick`]). Messages of the
//! engine come in both languages already (`message_zh`, `message`).
//!
//! A test checks that every key a template uses is in the table.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use serde::Serialize;

/// The languages of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    /// 简体中文, the default.
    Zh,
    En,
}

impl Lang {
    /// The `lang` attribute of the page and the value of the `lang` cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Reads a language code (`zh`, `zh-CN`, `en`, `en-GB`, …).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language of a request: the `lang` cookie (the user's explicit choice), then the
    /// browser's `Accept-Language` (highest quality first), then Chinese.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        if let Some(lang) = cookie(headers, super::LANG_COOKIE).and_then(|c| Lang::parse(&c)) {
            return lang;
        }
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language)
            .unwrap_or(Lang::Zh)
    }

    /// A policy label in this language: the English label when there is one.
    pub fn pick<'a>(self, zh: &'a str, en: Option<&'a str>) -> &'a str {
        match (self, en) {
            (Lang::En, Some(en)) if !en.is_empty() => en,
            _ => zh,
        }
    }

    /// One of the engine's two messages.
    pub fn message<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The best supported language of an `Accept-Language` header.
fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("");
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(lang) = Lang::parse(tag)
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The value of a cookie.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// The text of `key` in `lang`; the key itself if the table lacks it (a test keeps the
/// templates' keys in the table).
pub fn tr(lang: Lang, key: &str) -> &str {
    match index().get(key) {
        Some(&(zh, en)) => match lang {
            Lang::Zh => zh,
            Lang::En => en,
        },
        None => key,
    }
}

/// [`tr`] with `{name}` placeholders replaced.
pub fn tr_with(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut out = tr(lang, key).to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Whether the table has `key`.
pub fn has(key: &str) -> bool {
    index().contains_key(key)
}

fn index() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    INDEX.get_or_init(|| TABLE.iter().map(|&(k, zh, en)| (k, (zh, en))).collect())
}

/// `(key, 简体中文, English)`.
const TABLE: &[(&str, &str, &str)] = &[
    // The frame of every page.
    ("app.name", "满意", "manyi"),
    (
        "app.tagline",
        "投诉与案件管理",
        "Complaint and case management",
    ),
    ("nav.workspace", "工作台", "Workspace"),
    ("nav.surveys", "满意度", "Satisfaction"),
    ("nav.rewards", "奖励台账", "Rewards"),
    ("rw.title", "奖励台账", "Rewards ledger"),
    (
        "rw.clause",
        "每年评选先进工作者和先进集体",
        "Annual awards for outstanding staff and teams",
    ),
    (
        "rw.penalty_ledger",
        "违规与处罚台账",
        "Violations and penalties ledger",
    ),
    ("rw.period", "评选年度", "Year"),
    ("rw.status", "状态", "Status"),
    ("rw.status.proposed", "已提名", "Proposed"),
    ("rw.status.granted", "已授予", "Granted"),
    ("rw.status.declined", "未授予", "Declined"),
    ("rw.list", "提名与决定", "Proposals and decisions"),
    ("rw.rule", "奖项", "Award"),
    ("rw.recipient", "获奖人／集体", "Recipient"),
    ("rw.collective", "集体", "collective"),
    ("rw.basis", "事迹", "Basis"),
    ("rw.proposed_by", "提名人", "Proposed by"),
    ("rw.range", "金额范围", "Range"),
    ("rw.decision", "决定", "Decision"),
    ("rw.grant", "授予", "Grant"),
    ("rw.decline", "不予授予", "Decline"),
    ("rw.amount", "金额（元）", "Amount (yuan)"),
    ("rw.reason", "理由", "Reason"),
    ("rw.decide", "记录决定", "Record the decision"),
    ("rw.none", "没有符合条件的奖励记录。", "No reward matches."),
    (
        "rw.hint",
        "奖励是记录在案的决定，不直接发放；提名人和获奖人不能决定同一奖励。",
        "Rewards are recorded decisions, not payments; the proposer and the recipient may not decide it.",
    ),
    ("rw.propose", "提名", "Nominate"),
    ("rw.propose.submit", "提交提名", "Send the nomination"),
    ("rw.person", "个人（登录名）", "Person (login)"),
    (
        "rw.person.hint",
        "个人奖项填登录名，集体奖项填机构代码。",
        "A login for an individual award, a unit code for a collective one.",
    ),
    ("rw.unit", "集体（机构代码）", "Team (unit code)"),
    (
        "rw.one_recipient",
        "请填写个人或集体中的一个（不能都填或都不填）",
        "Give either a person or a unit, not both and not neither",
    ),
    (
        "rw.conflict",
        "该奖励已被他人提名或决定，请刷新后再试。",
        "Someone proposed or decided this meanwhile: reload and try again.",
    ),
    (
        "rw.done.proposed",
        "提名已记录。",
        "The nomination is recorded.",
    ),
    (
        "rw.done.decided",
        "决定已记录。",
        "The decision is recorded.",
    ),
    ("rw.bad_rule", "请选择奖项", "Choose an award"),
    (
        "rw.bad_period",
        "“{value}”不是年份，如 2026",
        "“{value}” is not a year such as 2026",
    ),
    (
        "rw.bad_status",
        "状态应为已提名、已授予或未授予",
        "The status is proposed, granted or declined",
    ),
    ("rw.bad_unit", "没有机构“{value}”", "No unit “{value}”"),
    (
        "rw.choose_decision",
        "请选择授予或不予授予",
        "Choose grant or decline",
    ),
    (
        "rw.bad_amount",
        "“{value}”不是金额（元，如 500 或 500.00）",
        "“{value}” is not an amount in yuan (500 or 500.00)",
    ),
    ("sr.title", "满意度调查结果", "Survey results"),
    ("sr.by", "分组", "Group by"),
    ("sr.by.unit", "机构", "Unit"),
    ("sr.by.person", "经办人", "Handler"),
    ("sr.by.category", "投诉类别", "Category"),
    ("sr.by.party", "调查对象", "Party surveyed"),
    ("sr.by.month", "月份（提交）", "Month answered"),
    ("sr.by.quarter", "季度（提交）", "Quarter answered"),
    ("sr.by2", "再按", "Then by"),
    ("sr.by2.none", "（不再分组）", "(nothing)"),
    ("sr.schedules", "常态调查安排", "Routine survey schedules"),
    ("sr.from", "起始日期", "From"),
    ("sr.to", "截止日期（不含）", "To (exclusive)"),
    ("sr.show", "查看", "Show"),
    (
        "sr.hint",
        "按客户提交评价的时间统计；日期按北京时间。留空表示不限。",
        "Counted by when the customer answered; dates in Beijing time. Empty means no limit.",
    ),
    ("sr.overview", "总体", "Overview"),
    ("sr.answered", "已答", "Answered"),
    ("sr.mean", "平均分", "Mean"),
    ("sr.satisfied", "满意率（4–5 分）", "Satisfied (4–5)"),
    ("sr.total", "合计", "Total"),
    (
        "sr.none",
        "该期间没有已提交的调查。",
        "No survey was answered in this period.",
    ),
    ("sr.kind.rating", "评分", "rating"),
    ("sr.kind.choice", "选择", "choice"),
    ("sr.kind.text", "文字", "text"),
    (
        "sr.text.hint",
        "文字意见可能含个人信息，此处只计数，请在案件页查看。",
        "Written comments may hold personal data: counted here, read on the case page.",
    ),
    ("sr.scope.all", "全部机构", "All units"),
    (
        "sr.scope.unit",
        "{unit}及下级机构",
        "{unit} and the units below it",
    ),
    (
        "sr.bad_date",
        "“{value}”不是有效日期（YYYY-MM-DD）",
        "“{value}” is not a date (YYYY-MM-DD)",
    ),
    (
        "sr.bad_by",
        "“{value}”不是可用的分组（机构、经办人、投诉类别、调查对象、月份、季度，且两次分组不能相同）",
        "“{value}” is not a grouping (unit, handler, category, party, month, quarter; not the same twice)",
    ),
    ("nav.register", "登记投诉", "Register"),
    ("nav.dashboard", "看板", "Dashboard"),
    ("nav.admin", "管理", "Administration"),
    ("nav.logout", "退出", "Log out"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("nav.main", "主导航", "Main navigation"),
    ("nav.account", "修改密码", "Change password"),
    ("account.password", "修改密码", "Change password"),
    ("account.current", "当前密码", "Current password"),
    ("account.new", "新密码", "New password"),
    ("account.confirm", "再次输入新密码", "New password again"),
    ("account.rule", "至少 8 个字符", "At least 8 characters"),
    ("account.submit", "修改密码", "Change password"),
    (
        "account.changed",
        "密码已修改，下次登录请使用新密码；其他设备上的登录已退出",
        "Your password has been changed; use the new one next time you log in. You were signed out everywhere else",
    ),
    (
        "account.fix",
        "密码未修改，请按提示更正",
        "The password was not changed; please correct the fields marked",
    ),
    (
        "account.required",
        "请填写此项",
        "Please fill in this field",
    ),
    (
        "account.current_wrong",
        "当前密码不正确",
        "The current password is not correct",
    ),
    (
        "account.too_short",
        "密码至少 8 个字符",
        "A password needs at least 8 characters",
    ),
    (
        "account.same",
        "新密码不能与当前密码相同",
        "The new password must differ from the current one",
    ),
    (
        "account.mismatch",
        "两次输入的新密码不一致",
        "The two new passwords do not match",
    ),
    ("lang.switch", "English", "中文"),
    ("lang.switch.title", "Switch to English", "切换到中文"),
    // Log in.
    ("login.title", "登录", "Log in"),
    ("login.login", "用户名", "Login"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.failed",
        "用户名或密码错误",
        "Wrong login or password",
    ),
    (
        "login.expired",
        "会话已过期，请重新登录",
        "Your session has expired; please log in again",
    ),
    ("login.required", "请先登录", "Please log in first"),
    ("login.logged_out", "已退出登录", "You have logged out"),
    // Errors.
    ("error.title", "出错了", "Something went wrong"),
    ("error.not_found", "页面不存在", "Page not found"),
    (
        "error.not_found.detail",
        "没有这个页面，或您无权查看。",
        "There is no such page, or you may not see it.",
    ),
    ("error.forbidden", "无权操作", "Not allowed"),
    (
        "error.csrf",
        "表单已失效（安全校验未通过），请返回刷新页面后重试。",
        "The form has expired (security check failed). Go back, reload the page and try again.",
    ),
    ("error.bad_request", "请求有误", "Bad request"),
    ("error.conflict", "操作冲突", "Conflict"),
    (
        "error.unavailable",
        "系统暂时不可用",
        "Temporarily unavailable",
    ),
    (
        "error.unavailable.detail",
        "数据库暂时无法访问，未做任何更改，请稍后重试。",
        "The database is unavailable; nothing was changed. Please retry shortly.",
    ),
    ("error.internal", "系统内部错误", "Internal error"),
    (
        "error.internal.detail",
        "系统出现内部错误。请联系管理员并提供请求编号：{id}",
        "An internal error occurred. Please contact the administrator with request id {id}.",
    ),
    ("error.too_many", "操作过于频繁", "Too many requests"),
    ("error.back", "返回工作台", "Back to the workspace"),
    (
        "error.admin_only",
        "需要系统管理员角色",
        "This needs the administrator role",
    ),
    // The workspace.
    ("ws.title", "工作台", "Workspace"),
    ("ws.mine", "我的案件", "My cases"),
    (
        "ws.mine.hint",
        "由我办理或我为首问负责人的案件",
        "Cases assigned to me or where I am the first contact",
    ),
    ("ws.unit", "本机构案件", "My unit's cases"),
    (
        "ws.unit.hint",
        "{unit}及下级机构的案件",
        "Cases of {unit} and the units below it",
    ),
    ("ws.empty", "没有案件", "No cases"),
    ("ws.filter", "筛选", "Filter"),
    ("ws.filter.state", "状态", "State"),
    ("ws.filter.kind", "类型", "Kind"),
    ("ws.filter.any", "全部", "All"),
    ("ws.filter.open", "未结案件", "Open cases"),
    ("ws.filter.closed", "含已结案件", "Include closed"),
    ("ws.find", "快速查找", "Quick find"),
    (
        "ws.find.placeholder",
        "案件编号 / 电话 / 姓名",
        "Case number / phone / name",
    ),
    ("ws.find.submit", "查找", "Find"),
    ("ws.find.clear", "清除", "Clear"),
    (
        "ws.find.note",
        "按案件编号（任意连续四位以上即可）、电话（后四位即可）或客户姓名，在您有权查看的案件中查找；输入完整案件编号可直接打开。",
        "Finds cases you may see by number (any four or more characters of it), phone (the last four digits will do) or customer name; a full case number opens the case.",
    ),
    ("ws.truncated", "仅显示前 {n} 件", "Showing the first {n}"),
    ("ws.count", "共 {n} 件", "{n} cases"),
    (
        "ws.refresh",
        "剩余时间每分钟自动刷新",
        "Time left refreshes every minute",
    ),
    // Case columns and the case page.
    ("case.number", "案件编号", "Case number"),
    ("case.customer", "客户", "Customer"),
    ("case.category", "类别", "Category"),
    ("case.state", "状态", "State"),
    ("case.owner_unit", "承办机构", "Owning unit"),
    ("case.first_contact", "首问负责人", "First contact"),
    ("case.assignee", "办理人", "Assignee"),
    ("case.time_left", "剩余时间", "Time left"),
    ("case.kind", "类型", "Kind"),
    ("case.channel", "渠道", "Channel"),
    ("case.created_at", "登记时间", "Registered"),
    ("case.updated_at", "更新时间", "Updated"),
    ("case.policy", "策略", "Policy"),
    ("case.closed", "已结案", "Closed"),
    ("case.open", "办理中", "Open"),
    ("case.fields", "案件信息", "Case details"),
    ("case.clocks", "办理时限", "Time limits"),
    ("case.actions", "可执行的操作", "What you can do"),
    (
        "case.no_actions",
        "您当前没有可执行的操作。",
        "There is nothing you can do on this case now.",
    ),
    ("case.timeline", "办理记录", "Timeline"),
    ("case.archive", "已归档（只读）", "Archived (read-only)"),
    ("case.archive.reference", "档案号", "Archive reference"),
    ("case.assists", "协助请求", "Assistance requests"),
    ("case.disputes", "机构间争议", "Disputes between units"),
    ("assist.requested", "待答复", "Awaiting an answer"),
    ("assist.accepted", "已接受", "Accepted"),
    ("assist.refused", "已拒绝", "Refused"),
    ("assist.completed", "已完成", "Completed"),
    ("assist.overdue", "已逾期", "Overdue"),
    ("assist.due", "期限", "Due"),
    ("dispute.raised", "待协调", "Awaiting a decision"),
    (
        "dispute.decided",
        "已决定，待执行",
        "Decided, to be carried out",
    ),
    ("dispute.complied", "已执行", "Carried out"),
    ("dispute.decider", "协调机构", "Decided by"),
    (
        "case.created",
        "案件已登记：{number}",
        "Case {number} registered",
    ),
    (
        "case.replayed",
        "该表单已提交过，这是已登记的案件。",
        "This form was already submitted; this is the case it registered.",
    ),
    ("case.done", "操作已完成：{action}", "Done: {action}"),
    ("case.refused", "操作未通过", "Not allowed"),
    ("case.clause", "依据", "Clause"),
    ("case.note", "备注", "Note"),
    ("case.submit_action", "确认", "Submit"),
    ("case.required_fields", "需填写", "Needs"),
    ("case.personal", "个人信息", "Personal data"),
    ("case.none", "—", "—"),
    ("case.system", "系统", "System"),
    ("case.back", "返回工作台", "Back to the workspace"),
    (
        "case.conflict",
        "案件刚被他人修改，请刷新页面后重试。",
        "Someone changed the case meanwhile; reload the page and try again.",
    ),
    // Clocks.
    ("clock.limit", "时限", "Limit"),
    ("clock.due", "截止时间", "Due"),
    ("clock.due_day", "截止日", "Due day"),
    ("clock.left", "剩余工作时间", "Working time left"),
    ("clock.status", "状态", "Status"),
    ("clock.running", "计时中", "Running"),
    ("clock.paused", "已暂停", "Paused"),
    ("clock.stopped", "已停止", "Stopped"),
    ("clock.met", "按时完成", "Met"),
    ("clock.missed", "超时完成", "Missed"),
    ("clock.overdue", "已超时", "Overdue"),
    ("clock.breached", "已记录超时", "Breach recorded"),
    ("clock.provisional", "暂定", "provisional"),
    (
        "clock.provisional.title",
        "该年度节假日安排尚未公布，按周一至周五推算，公布后将重新计算",
        "The official holiday notice for the year is not out yet: computed on Monday–Friday; it will be recomputed",
    ),
    ("clock.none", "无时限", "No time limit"),
    ("limit.working_days", "{n}个工作日", "{n} working days"),
    ("limit.calendar_days", "{n}日", "{n} days"),
    ("limit.hours", "{n}小时", "{n} hours"),
    ("limit.minutes", "{n}分钟", "{n} minutes"),
    (
        "limit.business_hours",
        "{n}个营业小时",
        "{n} business hours",
    ),
    (
        "limit.business_minutes",
        "{n}个营业分钟",
        "{n} business minutes",
    ),
    (
        "clock.left.days_hours",
        "剩 {d}天{h}小时",
        "{d} d {h} h left",
    ),
    ("clock.left.days", "剩 {d}天", "{d} d left"),
    (
        "clock.left.hours_minutes",
        "剩 {h}小时{m}分",
        "{h} h {m} min left",
    ),
    ("clock.left.hours", "剩 {h}小时", "{h} h left"),
    ("clock.left.minutes", "剩 {m}分钟", "{m} min left"),
    (
        "clock.over.days_hours",
        "已逾期 {d}天{h}小时",
        "overdue {d} d {h} h",
    ),
    ("clock.over.days", "已逾期 {d}天", "overdue {d} d"),
    (
        "clock.over.hours_minutes",
        "已逾期 {h}小时{m}分",
        "overdue {h} h {m} min",
    ),
    ("clock.over.hours", "已逾期 {h}小时", "overdue {h} h"),
    ("clock.over.minutes", "已逾期 {m}分钟", "overdue {m} min"),
    (
        "clock.working_time",
        "剩余时间按工作时间计算（节假日不计）",
        "Time left counts working time (rest days excluded)",
    ),
    // Events of the timeline.
    ("event.open", "登记", "Registered"),
    ("event.noted", "内部备注", "Internal note"),
    ("ws.found", "查找结果", "Search results"),
    (
        "ws.found.hint",
        "在您有权查看的案件中按案件编号、电话号码（后四位即可）或客户姓名查找。",
        "Cases you may see whose number, phone (the last four digits will do) or customer name contain the text.",
    ),
    (
        "ws.found.capped",
        "只显示前 {n} 条，请输入更多字符。",
        "Only the first {n} matches are shown; type more characters.",
    ),
    (
        "ws.found.partial",
        "只查找了您有权查看的最新 {n} 件案件；请输入更完整的编号或电话以缩小范围。",
        "Only the newest {n} cases you may see were searched; type more of the number or phone to narrow it.",
    ),
    (
        "dash.trend_months",
        "近 12 个月新增案件",
        "New cases, last 12 months",
    ),
    ("dash.rates", "按时办结率", "On-time rates"),
    ("dash.by_level", "按机构层级", "By level"),
    ("dash.by_category", "按投诉类别", "By category"),
    ("dash.met", "按时", "In time"),
    ("dash.ended", "已到期或办结", "Ended or due"),
    ("dash.uncategorised", "未分类", "Uncategorised"),
    (
        "dash.rates.hint",
        "统计近 12 个月登记的案件（按案件计）：未曾超时而办结的为按时，已办结或已超时的案件为分母。",
        "Cases registered in the last 12 months, counted per case: closed without any clock ever breached is on time, out of the cases closed or already late.",
    ),
    (
        "ledger.title",
        "违规与处罚台账",
        "Violations and penalty ledger",
    ),
    ("ledger.unit", "机构", "Unit"),
    ("ledger.unit.hint", "机构代码", "Unit code"),
    ("ledger.person", "责任人", "Person"),
    ("ledger.from", "起始日期", "From"),
    ("ledger.to", "截止日期（不含）", "To (exclusive)"),
    ("ledger.status", "处理状态", "Status"),
    ("ledger.status.any", "全部", "Any"),
    ("ledger.status.proposed", "待决定", "Proposed"),
    ("ledger.status.decided", "已决定", "Decided"),
    ("ledger.status.appealed", "申诉中", "Appealed"),
    (
        "ledger.status.appeal_decided",
        "申诉已决定",
        "Appeal decided",
    ),
    ("ledger.filter", "筛选", "Filter"),
    ("ledger.csv", "导出 CSV", "Export CSV"),
    ("ledger.violations", "违规记录", "Violations"),
    ("ledger.penalties", "处罚记录", "Penalties"),
    ("ledger.amount", "金额", "Amount"),
    ("ledger.at", "时间", "When"),
    (
        "ledger.hint",
        "页面最多列出最近 100 条；导出 CSV 包含全部符合条件的记录。处罚是记录在案的处理决定，不是自动扣薪。",
        "The page lists the latest 100; the CSV export has every matching row. Penalties are recorded decisions, never wage deductions.",
    ),
    (
        "ledger.bad_filter",
        "筛选条件有误：{detail}",
        "Check the filters: {detail}",
    ),
    ("admin.actions", "操作", "Actions"),
    ("admin.back", "返回", "Back"),
    ("admin.user.status", "状态", "Status"),
    ("admin.user.is_active", "正常", "Active"),
    ("admin.user.is_disabled", "已停用", "Disabled"),
    ("admin.user.edit", "编辑", "Edit"),
    ("admin.user.save", "保存", "Save"),
    ("admin.user.disable", "停用", "Disable"),
    ("admin.user.enable", "启用", "Enable"),
    (
        "admin.user.edited",
        "用户 {login} 已更新",
        "User {login} updated",
    ),
    (
        "admin.user.disabled",
        "用户 {login} 已停用：不能再登录，其登录会话和令牌已失效",
        "User {login} disabled: they cannot log in, and their sessions and tokens no longer work",
    ),
    (
        "admin.user.enabled",
        "用户 {login} 已启用",
        "User {login} enabled",
    ),
    (
        "admin.user.not_self",
        "不能停用自己的账号",
        "You cannot disable your own account",
    ),
    ("admin.unit.remove", "删除", "Remove"),
    (
        "admin.unit.removed",
        "机构 {code} 已删除",
        "Unit {code} removed",
    ),
    (
        "admin.calendar.edit",
        "编辑本机构日历",
        "Edit this unit's calendar",
    ),
    (
        "admin.calendar.edit.hint",
        "每行一个日期（YYYY-MM-DD）。保存后，未结案件的时限按新日历重新计算（与 PUT /api/v1/units/{code}/calendar 相同）。",
        "One date per line (YYYY-MM-DD). Deadlines of open cases are recomputed on save (as PUT /api/v1/units/{code}/calendar does).",
    ),
    (
        "admin.calendar.hours.hint",
        "每天填写营业时段，如 09:00-12:00, 13:30-17:30（中间为午休）；留空表示当天不营业；五天都留空表示不设营业时间（时限截至 24:00）。",
        "Each day's opening intervals, e.g. 09:00-12:00, 13:30-17:30 (the gap is lunch); empty: closed that day; all five empty: no business hours (deadlines end at 24:00).",
    ),
    (
        "admin.calendar.bad_interval",
        "“{value}”不是有效的营业时段：应为 HH:MM-HH:MM，开始早于结束，结束不晚于 24:00",
        "“{value}” is not an opening interval: HH:MM-HH:MM, the start before the end, the end at most 24:00",
    ),
    (
        "admin.calendar.overlap",
        "营业时段须按时间先后排列且互不重叠",
        "Intervals must be in time order and must not overlap",
    ),
    (
        "admin.calendar.bad_weekday",
        "“{value}”不是星期一至星期五之一",
        "“{value}” is not one of Monday to Friday",
    ),
    ("admin.calendar.save", "保存日历", "Save calendar"),
    (
        "admin.calendar.saved",
        "机构 {code} 的日历已保存，未结案件的时限已重新计算",
        "The calendar of {code} is saved; deadlines of open cases were recomputed",
    ),
    (
        "admin.calendar.bad_date",
        "“{value}”不是有效日期（应为 YYYY-MM-DD）",
        "`{value}` is not a date (YYYY-MM-DD)",
    ),
    (
        "admin.calendar.both",
        "{value} 不能既是停业日又是加班日",
        "{value} cannot be both a closure and an extra working day",
    ),
    ("notes.title", "备注与附件", "Notes and attachments"),
    ("notes.new", "新增内部备注", "New internal note"),
    (
        "notes.hint",
        "内部备注只有工作人员可见，写入办理记录后不能修改。",
        "Internal notes are for staff only and stay in the timeline for good.",
    ),
    ("notes.add", "添加备注", "Add note"),
    ("notes.added", "备注已添加", "Note added"),
    ("attachments.title", "附件", "Attachments"),
    ("attachments.none", "暂无附件", "No attachments yet"),
    ("attachments.file", "选择文件", "File"),
    (
        "attachments.hint",
        "可上传 PNG、JPEG、GIF、PDF、纯文本、Word、Excel 或 MP3，单个文件不超过",
        "PNG, JPEG, GIF, PDF, plain text, Word, Excel or MP3, each at most",
    ),
    ("attachments.upload", "上传附件", "Upload"),
    (
        "attachments.uploaded",
        "附件已上传：{name}",
        "Attachment uploaded: {name}",
    ),
    ("attachments.customer", "客户", "Customer"),
    (
        "attachments.too_large",
        "文件超过大小上限（{limit}）",
        "The file is larger than the limit ({limit})",
    ),
    (
        "attachments.bad_type",
        "不支持此文件类型，或文件内容与类型不符",
        "This file type is not accepted, or the content does not match its type",
    ),
    ("attachments.required", "请选择文件", "Choose a file"),
    ("event.clock_warned", "时限预警", "Deadline warning"),
    ("event.clock_breached", "超过时限", "Deadline passed"),
    (
        "event.deadlines_recomputed",
        "重新计算时限",
        "Deadlines recomputed",
    ),
    ("event.moved_to", "转入", "to"),
    ("event.owner_unit", "承办机构", "Owning unit"),
    ("event.assignee", "办理人", "Assignee"),
    ("event.violation", "记录违规", "Violation recorded"),
    (
        "event.violations_recorded",
        "记录违规",
        "Violations recorded",
    ),
    (
        "event.notice_queued",
        "待发客户通知",
        "Notice to the customer queued",
    ),
    (
        "event.rule_overridden",
        "越过“原则上”规则（说明理由）",
        "Soft rule overridden (with a reason)",
    ),
    ("case.violations", "违规与处罚", "Violations and penalties"),
    (
        "case.no_violations",
        "本案没有记录违规。",
        "No violation is recorded on this case.",
    ),
    ("case.liable", "责任人", "Liable"),
    ("case.violation_at", "发生时间", "When"),
    (
        "case.override_reason",
        "越过“原则上”规则的理由",
        "Reason to override the soft rule",
    ),
    (
        "case.override_hint",
        "此操作受“原则上”规则约束；有权限的人员可填写理由后越过，并记入办理记录。",
        "A soft rule (原则上) applies; an authorised person may override it with a reason, which is logged.",
    ),
    ("case.liable_units", "责任单位", "Liable units"),
    ("case.notices", "客户通知", "Notices to the customer"),
    ("violation.deadline_breach", "超过时限", "Deadline passed"),
    (
        "violation.record_incomplete",
        "记录缺项",
        "Record item missing",
    ),
    (
        "violation.upheld_complaint",
        "投诉经调查属实",
        "Complaint upheld",
    ),
    (
        "violation.repeat_complaint",
        "引起再次投诉",
        "Repeat complaint",
    ),
    (
        "violation.recusal_attempt",
        "应回避人员试图办理",
        "Recused person's attempt",
    ),
    (
        "violation.conduct",
        "行为违规（人工登记）",
        "Conduct (recorded by a person)",
    ),
    // Recording conduct on the case page (jinbi-property 第四条/第六条).
    (
        "conduct.title",
        "登记服务行为违规",
        "Record a conduct violation",
    ),
    (
        "conduct.hint",
        "礼仪、规范用语等违规不是案件操作，由有权人员看到后登记；罚款按制度附则提出，待决定。",
        "Etiquette and phone-language breaches are not case actions: an authorised person records them; the fines are proposed by the policy's rules, to be decided.",
    ),
    ("conduct.type", "违规类型", "Type"),
    ("conduct.person", "责任人（登录名）", "Person (login)"),
    (
        "conduct.person_hint",
        "只能登记本单位及下级单位的人员，不能登记自己。",
        "Only people of your unit and the units below it; never yourself.",
    ),
    ("conduct.description", "违规事实", "What happened"),
    ("conduct.record", "登记违规", "Record"),
    (
        "conduct.recorded",
        "违规已登记",
        "Conduct violation recorded",
    ),
    (
        "conduct.no_person",
        "person = {login}：没有此用户",
        "person = {login}: no such user",
    ),
    // Conduct recorded without a case (`/conduct/new`, issue 5).
    (
        "cnew.title",
        "登记违规行为（无投诉案件）",
        "Record conduct (no complaint case)",
    ),
    (
        "cnew.hint",
        "日常检查中发现的违规行为（如未佩戴工牌、柜面用语不规范），没有对应的投诉案件时在此登记；处罚按制度条款自动提出，由有权人员决定。",
        "Conduct seen in a daily review (no badge, rude words at the counter) with no complaint case is recorded here; the policy's penalty rules propose the fines, which authorised people decide.",
    ),
    (
        "cnew.no_types",
        "您的角色不能登记任何违规类型。",
        "None of your roles may record a conduct type.",
    ),
    ("cnew.observed_on", "发现日期", "Date observed"),
    (
        "cnew.recorded",
        "违规已登记（编号 {id}），处罚建议已进入台账。",
        "Conduct recorded (no. {id}); its proposed penalties are in the ledger.",
    ),
    (
        "cnew.choose_type",
        "type：请选择违规类型",
        "type: choose a conduct type",
    ),
    ("cnew.link", "登记违规行为", "Record conduct"),
    ("ledger.no_case", "无案件", "No case"),
    ("penalty.proposed", "待决定", "Proposed"),
    ("penalty.decided", "已决定", "Decided"),
    ("penalty.appealed", "申诉中", "Appealed"),
    ("penalty.appeal_decided", "申诉已复核", "Appeal decided"),
    ("event.fields", "变更", "Changes"),
    ("event.cleared", "（清空）", "(cleared)"),
    // Registering.
    ("reg.title", "登记投诉", "Register a complaint"),
    (
        "reg.choose",
        "选择要登记的案件类型",
        "Choose what to register",
    ),
    (
        "reg.none",
        "您没有可登记的案件类型。",
        "There is nothing you may register.",
    ),
    ("reg.channel", "受理渠道", "Channel"),
    ("reg.submit", "登记", "Register"),
    ("reg.more", "更多信息（选填）", "More details (optional)"),
    ("reg.required", "必填", "required"),
    (
        "reg.errors",
        "有 {n} 处需要修改，请查看标红的字段。",
        "{n} things need fixing: see the fields marked in red.",
    ),
    (
        "reg.key_reused",
        "这份表单已经提交过并登记了案件。如确需再登记一件，请检查后再次提交。",
        "This form was already submitted and registered a case. To register another one, check and submit again.",
    ),
    (
        "reg.unknown_policy",
        "没有这个已启用的策略或案件类型",
        "No such active policy or case kind",
    ),
    (
        "reg.attachment",
        "附件暂不支持在此上传",
        "Attachments cannot be uploaded here yet",
    ),
    ("reg.select", "请选择", "Choose"),
    // Channels (a policy lists codes; these are the usual ones).
    ("channel.counter", "柜面", "Counter"),
    ("channel.phone", "电话", "Phone"),
    ("channel.hotline", "热线", "Hotline"),
    ("channel.hotline_95533", "95533 热线", "95533 hotline"),
    ("channel.email", "电子邮件", "E-mail"),
    ("channel.letter", "信函", "Letter"),
    ("channel.letter_visit", "信访", "Letters and visits"),
    ("channel.web", "网站", "Web"),
    ("channel.visit", "来访", "Visit"),
    ("channel.wechat", "微信", "WeChat"),
    // The dashboard.
    ("dash.title", "主管看板", "Supervisor's dashboard"),
    (
        "dash.scope",
        "范围：{unit}及下级机构",
        "Scope: {unit} and the units below it",
    ),
    ("dash.open", "未结案件", "Open"),
    ("dash.due_soon", "即将到期", "Due soon"),
    ("dash.due_soon.hint", "8 小时内到期", "due within 8 hours"),
    ("dash.overdue", "已超时", "Overdue"),
    ("dash.on_time", "按时率", "On time"),
    (
        "dash.on_time.hint",
        "近 12 个月登记的案件：未曾超时而办结的案件占已办结或已超时案件的比例",
        "Cases of the last 12 months: closed without a breach, among the cases closed or already late",
    ),
    ("dash.by_unit", "各机构情况", "By unit"),
    ("dash.unit", "机构", "Unit"),
    ("dash.level", "层级", "Level"),
    ("dash.created", "近 8 周新增", "New (8 weeks)"),
    ("dash.total", "合计", "Total"),
    (
        "dash.trend",
        "每周新增案件（近 8 周）",
        "New cases per week (last 8 weeks)",
    ),
    ("dash.overdue_list", "超时案件", "Overdue cases"),
    ("dash.due_soon_list", "即将到期的案件", "Cases due soon"),
    ("dash.clock", "时限", "Clock"),
    ("dash.none", "无", "None"),
    (
        "dash.bounded",
        "数量来自到期时间索引与按月汇总，覆盖全部案件；列表显示最先到期的 {n} 件案件的时限。",
        "Counts come from the due-time index and the monthly aggregate and cover every case; the lists show the clocks of the {n} cases due first.",
    ),
    ("dash.incomplete", "（不完整）", "(incomplete)"),
    ("dash.week_of", "{date} 起的一周", "week of {date}"),
    // Customers' pages.
    ("pub.complaint.title", "在线投诉", "Submit a complaint"),
    (
        "pub.complaint.intro",
        "请填写以下信息，我们将在规定时限内处理并答复您。",
        "Tell us what happened; we will handle your complaint and reply within the set time.",
    ),
    ("pub.complaint.submit", "提交投诉", "Submit"),
    (
        "pub.complaint.file",
        "附件（可选，如凭证、照片）",
        "Attachment (optional: a receipt, a photo)",
    ),
    (
        "pub.complaint.not_configured",
        "在线投诉暂未开通，请通过柜台或客服热线反映。",
        "Online complaints are not available yet; please contact us at a counter or by phone.",
    ),
    (
        "pub.complaint.done",
        "投诉已受理",
        "Your complaint was received",
    ),
    (
        "pub.complaint.number",
        "您的案件编号是",
        "Your case number is",
    ),
    (
        "pub.complaint.keep",
        "请记下案件编号，可凭编号和手机号后四位查询办理进度。",
        "Keep this number: with it and the last four digits of your phone you can follow your case.",
    ),
    ("pub.track.title", "查询进度", "Follow your case"),
    ("pub.track.number", "案件编号", "Case number"),
    (
        "pub.track.last4",
        "联系电话后四位",
        "Last four digits of your phone",
    ),
    ("pub.track.submit", "查询", "Look up"),
    (
        "pub.track.not_found",
        "没有找到匹配的案件，请核对案件编号和电话后四位。",
        "No matching case: check the case number and the last four digits.",
    ),
    ("pub.track.state", "办理状态", "State"),
    ("pub.track.received", "受理日期", "Received"),
    ("pub.track.due", "答复期限", "Reply due by"),
    ("pub.track.closed", "已办结", "Closed"),
    ("pub.track.in_progress", "办理中", "In progress"),
    (
        "pub.limited.ip",
        "提交过于频繁，请稍后再试。",
        "Too many submissions from your network; please try again later.",
    ),
    (
        "pub.limited.phone",
        "该电话号码今日提交次数已达上限，如有新情况请致电客服热线。",
        "This phone number has reached today's limit; for anything new please call us.",
    ),
    ("pub.follow_link", "查询办理进度", "Follow a case"),
    ("pub.complaint_link", "我要投诉", "Submit a complaint"),
    // Administration.
    ("admin.title", "系统管理", "Administration"),
    ("admin.org", "组织机构", "Organisation"),
    ("admin.users", "用户", "Users"),
    ("admin.policies", "策略", "Policies"),
    ("admin.calendar", "工作日历", "Calendar"),
    ("admin.code", "代码", "Code"),
    ("admin.name", "名称", "Name"),
    ("admin.level", "层级", "Level"),
    ("admin.people", "人数", "People"),
    ("admin.login", "用户名", "Login"),
    ("admin.unit", "所属机构", "Unit"),
    ("admin.roles", "角色", "Roles"),
    (
        "admin.org.readonly",
        "在下方新增或调整机构；批量导入请使用 manyi org import。",
        "Add or move units below; for bulk changes use `manyi org import`.",
    ),
    ("admin.policy", "策略", "Policy"),
    ("admin.compare", "比较版本", "Compare versions"),
    (
        "admin.compare.with_active",
        "与启用版本比较",
        "Compare with the active version",
    ),
    ("admin.compare.from", "旧版本", "Old version"),
    ("admin.compare.to", "新版本", "New version"),
    ("admin.compare.submit", "比较", "Compare"),
    (
        "admin.compare.title",
        "{policy}：第 {from} 版 → 第 {to} 版",
        "{policy}: version {from} → version {to}",
    ),
    (
        "admin.compare.stats",
        "新增 {added} 行，删除 {removed} 行",
        "{added} lines added, {removed} removed",
    ),
    (
        "admin.compare.same",
        "两个版本内容相同",
        "The two versions are the same",
    ),
    (
        "admin.compare.skipped",
        "（{n} 行未改动）",
        "({n} unchanged lines)",
    ),
    ("admin.compare.back", "返回策略列表", "Back to the policies"),
    ("admin.compare.old_line", "旧行号", "Old line"),
    ("admin.compare.new_line", "新行号", "New line"),
    (
        "admin.form.required",
        "请填写此项",
        "Please fill in this field",
    ),
    ("admin.unit.add", "新增机构", "Add a unit"),
    ("admin.unit.parent", "上级机构", "Parent unit"),
    (
        "admin.unit.root",
        "（无，作为根机构）",
        "(none: a root unit)",
    ),
    ("admin.unit.add.submit", "新增", "Add"),
    ("admin.unit.move", "调整隶属关系", "Move a unit"),
    (
        "admin.unit.move.unit",
        "要调整的机构（连同下级）",
        "Unit to move (with its subtree)",
    ),
    ("admin.unit.move.parent", "新的上级机构", "New parent unit"),
    ("admin.unit.move.submit", "调整", "Move"),
    ("admin.unit.added", "已新增机构 {code}", "Unit {code} added"),
    (
        "admin.unit.moved",
        "已调整机构 {code} 的隶属关系",
        "Unit {code} moved",
    ),
    (
        "admin.unit.duplicate",
        "此代码已被其他机构使用",
        "Another unit already has this code",
    ),
    (
        "admin.unit.unknown_parent",
        "上级机构不存在",
        "No such parent unit",
    ),
    ("admin.unit.unknown", "机构不存在", "No such unit"),
    (
        "admin.unit.cycle",
        "不能调整到它自己或它的下级机构之下",
        "A unit cannot move under itself or one of its own subunits",
    ),
    ("admin.unit.choose", "请选择", "Choose"),
    ("admin.user.add", "新增用户", "Add a user"),
    ("admin.user.password", "初始密码", "Initial password"),
    (
        "admin.user.password.hint",
        "至少 8 个字符；请告知本人登录后修改",
        "At least 8 characters; ask the user to change it after logging in",
    ),
    ("admin.user.add.submit", "新增用户", "Add user"),
    (
        "admin.user.added",
        "已新增用户 {login}",
        "User {login} added",
    ),
    (
        "admin.user.duplicate",
        "此用户名已被使用",
        "This login is already taken",
    ),
    (
        "admin.user.no_role",
        "请至少选择一个角色",
        "Choose at least one role",
    ),
    ("admin.role.admin", "系统管理员", "Administrator"),
    ("admin.version", "版本", "Version"),
    ("admin.active", "启用中", "Active"),
    ("admin.created", "创建时间", "Created"),
    ("admin.activated", "启用时间", "Activated"),
    ("admin.activate", "启用此版本", "Activate"),
    (
        "admin.activated_ok",
        "已启用 {policy} 第 {version} 版",
        "{policy} version {version} is now active",
    ),
    ("admin.upload", "上传策略", "Upload a policy"),
    (
        "admin.upload.source",
        "策略文件（TOML）",
        "Policy file (TOML)",
    ),
    ("admin.upload.file", "或选择文件", "or choose a file"),
    ("admin.check", "检查", "Check"),
    ("admin.store", "保存为新版本", "Store as a new version"),
    (
        "admin.check.ok",
        "检查通过，没有错误。",
        "The policy checks clean.",
    ),
    (
        "admin.check.errors",
        "{n} 个错误，未保存。",
        "{n} error(s); nothing was stored.",
    ),
    (
        "admin.stored",
        "已保存 {policy} 第 {version} 版（未启用）",
        "Stored {policy} version {version} (not active)",
    ),
    (
        "admin.stored.same",
        "与 {policy} 第 {version} 版内容相同，未新建版本",
        "Same text as {policy} version {version}; no new version",
    ),
    (
        "admin.line_col",
        "第 {line} 行第 {column} 列",
        "line {line}, column {column}",
    ),
    ("admin.error", "错误", "error"),
    ("admin.warning", "警告", "warning"),
    ("admin.calendar.year", "{year} 年", "{year}"),
    ("admin.calendar.workday", "工作日", "Working day"),
    ("admin.calendar.weekend", "周末", "Weekend"),
    (
        "admin.calendar.holiday",
        "法定节假日 / 调休放假",
        "Official rest day",
    ),
    ("admin.calendar.makeup", "调休上班", "Make-up working day"),
    (
        "admin.calendar.uncovered",
        "{year} 年的节假日安排尚未载入：按周一至周五推算，期限为暂定。",
        "The holiday notice for {year} is not loaded: Monday–Friday is assumed and deadlines are provisional.",
    ),
    ("admin.calendar.version", "日历版本", "Calendar version"),
    ("admin.calendar.prev", "上一年", "Previous year"),
    ("admin.calendar.next", "下一年", "Next year"),
    ("weekday.short", "一二三四五六日", "MTWTFSS"),
    ("weekday.monday", "星期一", "Monday"),
    ("weekday.tuesday", "星期二", "Tuesday"),
    ("weekday.wednesday", "星期三", "Wednesday"),
    ("weekday.thursday", "星期四", "Thursday"),
    ("weekday.friday", "星期五", "Friday"),
    (
        "admin.calendar.orgwork",
        "本机构加班日",
        "Unit's extra working day",
    ),
    ("admin.calendar.closure", "本机构停业日", "Unit closed"),
    ("admin.calendar.unit", "机构日历", "Unit calendar"),
    (
        "admin.calendar.official",
        "（国家日历，不含机构调整）",
        "(the official calendar, without unit changes)",
    ),
    ("admin.calendar.show", "查看", "Show"),
    (
        "admin.calendar.unit.title",
        "{unit} 的有效日历",
        "Effective calendar of {unit}",
    ),
    (
        "admin.calendar.unit.own",
        "本机构有自行设置（与上级的设置合并）",
        "The unit sets its own changes (merged with its parents')",
    ),
    (
        "admin.calendar.unit.inherited",
        "本机构无自行设置，沿用上级机构",
        "The unit sets nothing itself; its parents' settings apply",
    ),
    (
        "admin.calendar.unit.none",
        "无任何调整：按国家日历全天计算",
        "No changes: the official calendar, whole days",
    ),
    ("admin.calendar.closures", "停业日", "Closures"),
    ("admin.calendar.extra", "加班日", "Extra working days"),
    ("admin.calendar.hours", "营业时间", "Business hours"),
    (
        "admin.calendar.hours.none",
        "未设置（期限算到当日 24:00）",
        "Not set (deadlines end at 24:00)",
    ),
    ("admin.calendar.hours.closed", "不营业", "closed"),
    (
        "admin.calendar.weekend_as",
        "调休上班日按此日的营业时间",
        "Make-up working days use the hours of",
    ),
    ("month.1", "1月", "January"),
    ("month.2", "2月", "February"),
    ("month.3", "3月", "March"),
    ("month.4", "4月", "April"),
    ("month.5", "5月", "May"),
    ("month.6", "6月", "June"),
    ("month.7", "7月", "July"),
    ("month.8", "8月", "August"),
    ("month.9", "9月", "September"),
    ("month.10", "10月", "October"),
    ("month.11", "11月", "November"),
    ("month.12", "12月", "December"),
    // 回访 (callbacks) on the case page.
    ("channel.sms", "短信", "SMS"),
    ("callback.status", "回访状态", "Callback"),
    ("callback.status.none", "尚未开始", "Not yet due"),
    ("callback.status.pending", "待回访", "Owed"),
    ("callback.status.done", "已回访", "Done"),
    ("callback.status.waived", "已免回访", "Waived"),
    ("callback.round", "第几轮", "Round"),
    ("callback.reached", "已联系上", "Reached"),
    ("callback.not_reached", "未联系上", "Not reached"),
    ("callback.attempt", "记录回访尝试", "Record an attempt"),
    (
        "callback.record_verdict",
        "记录回访结论",
        "Record the verdict",
    ),
    ("callback.verdict", "客户评价", "Verdict"),
    ("callback.verdict.satisfied", "满意", "Satisfied"),
    (
        "callback.verdict.basically_satisfied",
        "基本满意",
        "Basically satisfied",
    ),
    ("callback.verdict.dissatisfied", "不满意", "Dissatisfied"),
    ("callback.party", "回访对象", "Party"),
    ("callback.party.customer", "投诉人", "Complainant"),
    (
        "callback.party.subject",
        "被投诉人",
        "Person complained about",
    ),
    ("callback.channel", "回访方式", "Channel"),
    ("callback.waive", "免于回访", "Waive the callback"),
    (
        "callback.waive_reason",
        "免回访原因（必填）",
        "Why it is waived (required)",
    ),
    ("callback.waived_by", "免回访：", "Waived by"),
    (
        "callback.done.attempt",
        "回访尝试已记录",
        "callback attempt recorded",
    ),
    (
        "callback.done.verdict",
        "回访结论已记录",
        "callback verdict recorded",
    ),
    ("callback.done.waive", "已免于回访", "callback waived"),
    ("event.callback_opened", "待回访", "Callback owed"),
    ("survey.title", "满意度调查", "Satisfaction survey"),
    ("survey.case", "事项编号", "Case"),
    ("survey.party", "本问卷面向", "This survey is for"),
    ("survey.required", "必答", "required"),
    (
        "survey.rating_hint",
        "1 分为非常不满意，5 分为非常满意",
        "1 = very dissatisfied, 5 = very satisfied",
    ),
    ("survey.submit", "提交评价", "Send"),
    (
        "survey.invalid",
        "请检查标出的问题",
        "Please check the questions marked",
    ),
    (
        "survey.thanks",
        "感谢您的评价！我们会认真改进。",
        "Thank you for your feedback.",
    ),
    (
        "survey.already",
        "此调查已提交过，每个链接只能提交一次。",
        "This survey was already answered: a link takes one answer.",
    ),
    (
        "survey.expired",
        "此调查链接已过期。",
        "This survey link has expired.",
    ),
    ("event.callback_attempted", "回访尝试", "Callback attempt"),
    ("event.callback_verdict", "回访结论", "Callback verdict"),
    ("event.callback_waived", "免于回访", "Callback waived"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_quality() {
        assert_eq!(
            from_accept_language("en-US,en;q=0.9,zh;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            from_accept_language("fr, zh-CN;q=0.9, en;q=0.5"),
            Some(Lang::Zh)
        );
        assert_eq!(from_accept_language("fr, de"), None);
        assert_eq!(from_accept_language("en;q=0, zh;q=0.1"), Some(Lang::Zh));
    }

    #[test]
    fn every_key_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for (key, _, _) in TABLE {
            assert!(seen.insert(key), "`{key}` is twice in the table");
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            tr_with(Lang::Zh, "clock.left.days_hours", &[("d", "1"), ("h", "3")]),
            "剩 1天3小时"
        );
    }
}
