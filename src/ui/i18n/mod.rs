//! English and Simplified Chinese. Every string the UI shows is a field of [`Tr`], so a
//! missing translation is a compile error, not a blank on the page.
use actix_web::HttpRequest;
use actix_web::http::header;

mod en;
mod problems;
mod tr;
mod zh;

use crate::domain::host::{EventKind, HostReason, HostStatus};
use crate::domain::role::{KeyScope, Role};
use crate::domain::runs::RunOutcome;
use crate::domain::schedule::ScheduleKind;
use crate::domain::status::{PingKind, Reason, Status};
use en::EN;
pub use tr::Tr;
use zh::ZH;

pub const LANG_COOKIE: &str = "hb_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code == "en" || code.starts_with("en-") {
            Some(Lang::En)
        } else if code == "zh" || code.starts_with("zh-") {
            Some(Lang::Zh)
        } else {
            None
        }
    }

    /// The `hb_lang` cookie, else the best of `Accept-Language`, else English.
    pub fn from_request(req: &HttpRequest) -> Lang {
        if let Some(lang) = super::http::cookie(req, LANG_COOKIE).and_then(|c| Lang::parse(&c)) {
            return lang;
        }
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::En)
    }

    /// `zh-CN,zh;q=0.9,en;q=0.8` → Chinese: the highest-weighted language we have.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (pos, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            // Higher weight wins; on a tie, the one listed first.
            let better = best.is_none_or(|(bq, bpos, _)| q > bq || (q == bq && pos < bpos));
            if better {
                best = Some((q, pos, lang));
            }
        }
        best.map(|(_, _, lang)| lang)
    }

    pub fn t(self) -> &'static Tr {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }

    /// A duration in words: "90 min", "2 h", "1 d 2 h", "45 s" (the same rules as the API's
    /// schedule descriptions).
    pub fn duration(self, secs: i64) -> String {
        const MINUTE: i64 = 60;
        const HOUR: i64 = 60 * MINUTE;
        const DAY: i64 = 24 * HOUR;
        let (s, m, h, d) = match self {
            Lang::En => (" s", " min", " h", " d"),
            Lang::Zh => (" 秒", " 分钟", " 小时", " 天"),
        };
        if secs > 0 && secs % DAY == 0 {
            return format!("{}{d}", secs / DAY);
        }
        if secs < DAY && secs % HOUR == 0 {
            return format!("{}{h}", secs / HOUR);
        }
        if secs < DAY && secs % MINUTE == 0 {
            return format!("{}{m}", secs / MINUTE);
        }
        if secs < 2 * MINUTE {
            return format!("{secs}{s}");
        }
        [
            (secs / DAY, d),
            (secs % DAY / HOUR, h),
            (secs % HOUR / MINUTE, m),
            (secs % MINUTE, s),
        ]
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// A coarse duration for relative times: minutes, hours (with minutes when short),
    /// days (with hours when short).
    fn coarse(self, secs: i64) -> String {
        let mins = secs / 60;
        let (m, h, d) = match self {
            Lang::En => (" min", " h", " d"),
            Lang::Zh => (" 分钟", " 小时", " 天"),
        };
        if mins < 60 {
            format!("{mins}{m}")
        } else if mins < 6 * 60 && mins % 60 != 0 {
            format!("{}{h} {}{m}", mins / 60, mins % 60)
        } else if mins < 48 * 60 {
            format!("{}{h}", mins / 60)
        } else if mins < 3 * 24 * 60 && (mins / 60) % 24 != 0 {
            format!("{}{d} {}{h}", mins / 1440, (mins / 60) % 24)
        } else {
            format!("{}{d}", mins / 1440)
        }
    }

    /// "3 min ago" / "in 5 min", at minute precision so a cached page stays right.
    pub fn relative(self, delta_secs: i64) -> String {
        let past = delta_secs <= 0;
        let abs = delta_secs.unsigned_abs().min(i64::MAX as u64) as i64;
        if abs < 60 {
            return match (self, past) {
                (Lang::En, true) => "just now".into(),
                (Lang::En, false) => "in < 1 min".into(),
                (Lang::Zh, true) => "刚刚".into(),
                (Lang::Zh, false) => "1 分钟内".into(),
            };
        }
        let span = self.coarse(abs);
        match (self, past) {
            (Lang::En, true) => format!("{span} ago"),
            (Lang::En, false) => format!("in {span}"),
            (Lang::Zh, true) => format!("{span}前"),
            (Lang::Zh, false) => format!("{span}后"),
        }
    }

    /// How long a down service has been down: "2 h 14 min", "< 1 min".
    pub fn down_for(self, secs: i64) -> String {
        if secs < 60 {
            return match self {
                Lang::En => "< 1 min".to_owned(),
                Lang::Zh => "不到 1 分钟".to_owned(),
            };
        }
        self.coarse(secs)
    }

    /// "and 12 more" after a few names; "1000+" counts stay as they are.
    pub fn and_more(self, n: &str) -> String {
        match self {
            Lang::En => format!("and {n} more"),
            Lang::Zh => format!("等另外 {n} 个"),
        }
    }

    /// "overdue 3 min" for a late service.
    pub fn overdue(self, secs: i64) -> String {
        let span = if secs < 60 {
            match self {
                Lang::En => "< 1 min".to_owned(),
                Lang::Zh => "不到 1 分钟".to_owned(),
            }
        } else {
            self.coarse(secs)
        };
        match self {
            Lang::En => format!("overdue {span}"),
            Lang::Zh => format!("已超时 {span}"),
        }
    }

    pub fn status(self, status: Status) -> &'static str {
        let t = self.t();
        match status {
            Status::New => t.st_new,
            Status::Up => t.st_up,
            Status::Late => t.st_late,
            Status::Down => t.st_down,
            Status::Paused => t.st_paused,
        }
    }

    pub fn role(self, role: Role) -> &'static str {
        let t = self.t();
        match role {
            Role::Admin => t.role_admin,
            Role::Member => t.role_member,
            Role::Viewer => t.role_viewer,
        }
    }

    pub fn scope(self, scope: KeyScope) -> &'static str {
        let t = self.t();
        match scope {
            KeyScope::Full => t.scope_full,
            KeyScope::Read => t.scope_read,
            KeyScope::Ping => t.scope_ping,
        }
    }

    pub fn reason(self, reason: Reason) -> &'static str {
        let t = self.t();
        match reason {
            Reason::Late => t.reason_late,
            Reason::Missed => t.reason_missed,
            Reason::Error => t.reason_error,
            Reason::Recovered => t.reason_recovered,
            Reason::Back => t.reason_back,
            Reason::Paused => t.reason_paused,
            Reason::Resumed => t.reason_resumed,
            Reason::Hung => t.reason_hung,
            Reason::RunTime => t.reason_run_time,
        }
    }

    pub fn kind(self, kind: PingKind) -> &'static str {
        let t = self.t();
        match kind {
            PingKind::Success => t.kind_success,
            PingKind::Error => t.kind_error,
            PingKind::Start => t.kind_start,
            PingKind::Log => t.kind_log,
        }
    }

    pub fn schedule_kind(self, kind: ScheduleKind) -> &'static str {
        let t = self.t();
        match kind {
            ScheduleKind::Interval => t.kind_interval,
            ScheduleKind::Daily => t.kind_daily,
            ScheduleKind::Cron => t.kind_cron,
        }
    }

    pub fn alerts_waiting(self, n: &u64) -> String {
        match self {
            Lang::En if *n == 1 => "1 alert is waiting to be retried".into(),
            Lang::En => format!("{n} alerts are waiting to be retried"),
            Lang::Zh => format!("{n} 条告警等待重试"),
        }
    }

    pub fn alerts_failed(self, n: &u64) -> String {
        match self {
            Lang::En if *n == 1 => "1 alert could not be delivered".into(),
            Lang::En => format!("{n} alerts could not be delivered"),
            Lang::Zh => format!("{n} 条告警投递失败"),
        }
    }

    pub fn attempts(self, n: i32) -> String {
        match self {
            Lang::En if n == 1 => "after 1 attempt".into(),
            Lang::En => format!("after {n} attempts"),
            Lang::Zh => format!("已尝试 {n} 次"),
        }
    }

    pub fn throttled(self, minutes: u64) -> String {
        match self {
            Lang::En => {
                format!("Too many failed sign-ins from this address. Try again in {minutes} min.")
            }
            Lang::Zh => format!("此地址登录失败次数过多，请 {minutes} 分钟后再试。"),
        }
    }

    pub fn test_mail_limited(self, seconds: u64) -> String {
        match self {
            Lang::En => format!("Too many test emails: try again in {seconds} s."),
            Lang::Zh => format!("测试邮件发送过于频繁，请 {seconds} 秒后再试。"),
        }
    }

    pub fn deleted(self, name: &str) -> String {
        match self {
            Lang::En => format!("Deleted “{name}”."),
            Lang::Zh => format!("已删除“{name}”。"),
        }
    }

    /// The page title's lead when services are down: `(3 down) `.
    pub fn down_prefix(self, count: &str) -> String {
        match self {
            Lang::En => format!("({count} down) "),
            Lang::Zh => format!("（{count} 个故障）"),
        }
    }

    /// "label: detail" with the colon of the language (`：` after Chinese).
    pub fn labelled(self, label: &str, detail: &str) -> String {
        match self {
            Lang::En => format!("{label}: {detail}"),
            Lang::Zh => format!("{label}：{detail}"),
        }
    }

    /// Where alert mail goes: the SMTP server, or the folder of `.eml` files.
    pub fn mail_destination(self, mailer: &crate::notify::Mailer) -> String {
        match (mailer, self) {
            (crate::notify::Mailer::Files { dir, .. }, Lang::En) => {
                format!("files in {}", dir.display())
            }
            (crate::notify::Mailer::Files { dir, .. }, Lang::Zh) => {
                format!("{} 目录中的 .eml 文件", dir.display())
            }
            (smtp, _) => smtp.describe(),
        }
    }

    pub fn test_sent(self, to: &str, via: &str) -> String {
        match self {
            Lang::En => format!("Test email sent to {to} via {via}."),
            Lang::Zh => format!("测试邮件已通过 {via} 发送至 {to}。"),
        }
    }

    pub fn grace_suffix(self, grace: &str) -> String {
        match self {
            Lang::En => format!(", grace {grace}"),
            Lang::Zh => format!("，宽限 {grace}"),
        }
    }

    pub fn every(self, period: &str) -> String {
        match self {
            Lang::En => format!("every {period}"),
            Lang::Zh => format!("每 {period}"),
        }
    }

    pub fn daily(self, at: &str, tz: &str) -> String {
        match self {
            Lang::En => format!("daily {at} {tz}"),
            Lang::Zh => format!("每天 {at} {tz}"),
        }
    }

    pub fn host_status(self, status: HostStatus) -> &'static str {
        let t = self.t();
        match status {
            HostStatus::New => t.st_new,
            HostStatus::Up => t.st_up,
            HostStatus::Degraded => t.st_degraded,
            HostStatus::Down => t.st_down,
            HostStatus::Paused => t.st_paused,
        }
    }

    pub fn host_reason(self, reason: HostReason) -> &'static str {
        let t = self.t();
        match reason {
            HostReason::Offline => t.hr_offline,
            HostReason::Unreachable => t.hr_unreachable,
            HostReason::Degraded => t.hr_degraded,
            HostReason::Recovered => t.hr_recovered,
            HostReason::Cleared => t.hr_cleared,
            HostReason::Paused => t.reason_paused,
            HostReason::Resumed => t.reason_resumed,
        }
    }

    pub fn event_kind(self, kind: EventKind) -> &'static str {
        let t = self.t();
        match kind {
            EventKind::Down => t.ev_down,
            EventKind::Up => t.ev_up,
            EventKind::Degraded => t.ev_degraded,
            EventKind::Recovered => t.ev_recovered,
            EventKind::UnitFailed => t.ev_unit_failed,
            EventKind::CheckFailed => t.ev_check_failed,
            EventKind::CheckRecovered => t.ev_check_recovered,
            EventKind::UnitRecovered => t.ev_unit_recovered,
            EventKind::ProcessMissing => t.ev_process_missing,
            EventKind::ProcessBack => t.ev_process_back,
            EventKind::ThresholdBreached => t.ev_threshold_breached,
            EventKind::ThresholdCleared => t.ev_threshold_cleared,
            EventKind::Paused => t.ev_paused,
            EventKind::Resumed => t.ev_resumed,
        }
    }

    /// The overview's notice of names that report but are not configured.
    pub fn inbox_notice(self, n: u64) -> String {
        match self {
            Lang::En if n == 1 => "1 host reports but is not configured.".into(),
            Lang::En => format!("{n} hosts report but are not configured."),
            Lang::Zh => format!("有 {n} 台主机在上报，但尚未配置。"),
        }
    }

    pub fn dismissed(self, name: &str) -> String {
        match self {
            Lang::En => format!("Dismissed “{name}”: it comes back if it reports again."),
            Lang::Zh => format!("已忽略“{name}”：若再次上报会重新出现。"),
        }
    }

    /// A chart's series in words: `CPU: avg 34%, max 98%`.
    pub fn chart_summary(self, label: &str, avg: &str, max: &str) -> String {
        match self {
            Lang::En => format!("{label}: avg {avg}, max {max}"),
            Lang::Zh => format!("{label}：平均 {avg}，最高 {max}"),
        }
    }

    /// `CPU over 24 h`.
    pub fn chart_title(self, what: &str, range: &str) -> String {
        match self {
            Lang::En => format!("{what} over {range}"),
            Lang::Zh => format!("{what}（{range}）"),
        }
    }

    /// A chart range's name: `1 h`, `24 h`, `7 d`, `30 d` (`1h` … as in the links).
    pub fn range_label(self, key: &str) -> String {
        let (n, unit) = key.split_at(key.len().saturating_sub(1));
        match (self, unit) {
            (Lang::En, "h") => format!("{n} h"),
            (Lang::En, _) => format!("{n} d"),
            (Lang::Zh, "h") => format!("{n} 小时"),
            (Lang::Zh, _) => format!("{n} 天"),
        }
    }

    /// `> 90% for 5 min`, `> 90% at once`.
    pub fn threshold_rule(self, limit: &str, window: &str) -> String {
        match (self, window.starts_with('0')) {
            (Lang::En, true) => format!("> {limit} at once"),
            (Lang::En, false) => format!("> {limit} for {window}"),
            (Lang::Zh, true) => format!("> {limit}，立即"),
            (Lang::Zh, false) => format!("> {limit}，持续 {window}"),
        }
    }

    /// `nginx (text) running at least 2 times`.
    pub fn process_rule(self, pattern: &str, regex: bool, min: u32) -> String {
        let t = self.t();
        let how = if regex { t.regex } else { t.substring };
        match self {
            Lang::En => format!("{pattern} ({how}) running at least {min} ×"),
            Lang::Zh => format!("{pattern}（{how}）至少运行 {min} 个"),
        }
    }

    /// `nginx.service must be active`.
    pub fn unit_rule(self, unit: &str) -> String {
        match self {
            Lang::En => format!("{unit} must be active"),
            Lang::Zh => format!("{unit} 须处于 active 状态"),
        }
    }

    pub fn interval_preview(self, period: &str) -> String {
        match self {
            Lang::En => format!(
                "Due {period} after each ping; the first deadline starts with the first ping."
            ),
            Lang::Zh => format!("每次 ping 之后 {period} 到期；第一次 ping 之后开始计时。"),
        }
    }
    /// A run's outcome in words.
    pub fn run_outcome(self, outcome: RunOutcome) -> &'static str {
        let t = self.t();
        match outcome {
            RunOutcome::Running => t.outcome_running,
            RunOutcome::Hung => t.outcome_hung,
            RunOutcome::Success => t.outcome_success,
            RunOutcome::Failure => t.outcome_failure,
            RunOutcome::TooShort => t.outcome_too_short,
            RunOutcome::TooLong => t.outcome_too_long,
            RunOutcome::Abandoned => t.outcome_abandoned,
        }
    }

    /// A run's duration, compact: "850 ms", "4.2 s", "2 min 5 s", "1 h 3 min".
    pub fn run_duration(self, ms: i64) -> String {
        let ms = ms.max(0);
        let (milli, s) = match self {
            Lang::En => (" ms", " s"),
            Lang::Zh => (" 毫秒", " 秒"),
        };
        if ms < 1000 {
            return format!("{ms}{milli}");
        }
        if ms < 60_000 {
            let tenths = (ms + 50) / 100;
            return if tenths % 10 == 0 || tenths >= 100 {
                format!("{}{s}", (tenths + 5) / 10)
            } else {
                format!("{}.{}{s}", tenths / 10, tenths % 10)
            };
        }
        let secs = (ms + 500) / 1000;
        let (m, h, d) = match self {
            Lang::En => (" min", " h", " d"),
            Lang::Zh => (" 分钟", " 小时", " 天"),
        };
        // Two units at most: past an hour the seconds are noise.
        let (big, small) = if secs < 3600 {
            ((secs / 60, m), (secs % 60, s))
        } else if secs < 86_400 {
            ((secs / 3600, h), (secs % 3600 / 60, m))
        } else {
            ((secs / 86_400, d), (secs % 86_400 / 3600, h))
        };
        if small.0 == 0 {
            format!("{}{}", big.0, big.1)
        } else {
            format!("{}{} {}{}", big.0, big.1, small.0, small.1)
        }
    }

    /// "2 failures in a row; alerts at 3".
    pub fn fail_streak(self, streak: i32, fail_after: i32) -> String {
        match (self, streak == 1) {
            (Lang::En, true) => format!("1 failure in a row; alerts at {fail_after}"),
            (Lang::En, false) => format!("{streak} failures in a row; alerts at {fail_after}"),
            (Lang::Zh, _) => format!("已连续失败 {streak} 次；达到 {fail_after} 次时告警"),
        }
    }

    /// "Alerts at the 3rd failure in a row" for a service whose streak is 0.
    pub fn fail_after_text(self, fail_after: i32) -> String {
        match (self, fail_after == 1) {
            (Lang::En, true) => "at the first failure".to_owned(),
            (Lang::En, false) => format!("after {fail_after} failures in a row"),
            (Lang::Zh, true) => "第一次失败即告警".to_owned(),
            (Lang::Zh, false) => format!("连续失败 {fail_after} 次后告警"),
        }
    }

    /// "running for 12 min" (and how many runs are open when more than one).
    pub fn running_for(self, secs: i64, open: i32) -> String {
        let span = self.down_for(secs.max(0));
        match (self, open > 1) {
            (Lang::En, false) => format!("Running for {span}"),
            (Lang::En, true) => format!("{open} runs open; the oldest running for {span}"),
            (Lang::Zh, false) => format!("已运行 {span}"),
            (Lang::Zh, true) => format!("{open} 个运行未结束；最早的已运行 {span}"),
        }
    }

    /// The sparkline in words: "Last 12 runs: shortest 3 s, median 5 s, longest 9 s".
    pub fn run_times_summary(self, n: usize, min: &str, median: &str, max: &str) -> String {
        match (self, n == 1) {
            (Lang::En, true) => format!("Last run: {min}"),
            (Lang::En, false) => {
                format!("Last {n} runs: shortest {min}, median {median}, longest {max}")
            }
            (Lang::Zh, true) => format!("上次运行：{min}"),
            (Lang::Zh, false) => {
                format!("最近 {n} 次运行：最短 {min}，中位数 {median}，最长 {max}")
            }
        }
    }

    /// The list's last-run cell title: "Last run: 4.2 s".
    pub fn last_run_took(self, took: &str) -> String {
        match self {
            Lang::En => format!("Last run: {took}"),
            Lang::Zh => format!("上次运行：{took}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_we_have() {
        let pick = Lang::from_accept_language;
        assert_eq!(pick("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::Zh));
        assert_eq!(pick("en-US,en;q=0.9,zh-CN;q=0.8"), Some(Lang::En));
        assert_eq!(pick("fr-FR, zh;q=0.5, en;q=0.4"), Some(Lang::Zh));
        assert_eq!(pick("fr, de"), None);
        assert_eq!(pick("zh;q=0, en;q=0.1"), Some(Lang::En));
    }

    #[test]
    fn durations_match_the_api_wording() {
        assert_eq!(Lang::En.duration(7200), "2 h");
        assert_eq!(Lang::En.duration(5400), "90 min");
        assert_eq!(Lang::En.duration(125), "2 min 5 s");
        assert_eq!(Lang::En.duration(86_400 + 1800), "1 d 30 min");
        assert_eq!(Lang::Zh.duration(300), "5 分钟");
    }

    #[test]
    fn run_durations_are_compact() {
        assert_eq!(Lang::En.run_duration(850), "850 ms");
        assert_eq!(Lang::En.run_duration(4_230), "4.2 s");
        assert_eq!(Lang::En.run_duration(3_000), "3 s");
        assert_eq!(Lang::En.run_duration(59_960), "60 s");
        assert_eq!(Lang::En.run_duration(125_000), "2 min 5 s");
        assert_eq!(Lang::En.run_duration(3_785_000), "1 h 3 min");
        assert_eq!(Lang::En.run_duration(7_200_000), "2 h");
        assert_eq!(Lang::En.run_duration(90_000_000), "1 d 1 h");
        assert_eq!(Lang::Zh.run_duration(4_230), "4.2 秒");
        assert_eq!(
            Lang::En.fail_streak(2, 3),
            "2 failures in a row; alerts at 3"
        );
        assert_eq!(
            Lang::Zh.fail_streak(2, 3),
            "已连续失败 2 次；达到 3 次时告警"
        );
        assert_eq!(Lang::En.running_for(12 * 60, 1), "Running for 12 min");
    }

    #[test]
    fn relative_times() {
        assert_eq!(Lang::En.relative(-30), "just now");
        assert_eq!(Lang::En.relative(-180), "3 min ago");
        assert_eq!(Lang::En.relative(3 * 3600 + 600), "in 3 h 10 min");
        assert_eq!(Lang::En.relative(-30 * 3600), "30 h ago");
        assert_eq!(Lang::En.relative(-5 * 86_400), "5 d ago");
        assert_eq!(Lang::Zh.relative(-180), "3 分钟前");
        assert_eq!(Lang::Zh.relative(120), "2 分钟后");
    }
}
