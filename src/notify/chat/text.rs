//! What a chat message says, in English or Chinese, before one kind of channel formats it:
//! a title and lines, some of them links. Each kind turns a [`Doc`] into its own markup
//! (markdown, Slack's mrkdwn, Telegram's HTML, plain text).
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::domain::channel::MessageLang;
use crate::domain::host::HostReason;
use crate::domain::status::Reason;
use crate::domain::zone::local_stamp;
use crate::notify::message::{AlertItem, Cause, MAX_BURST_LINES, Message};

/// Reported data longer than this is cut (a chat message is read on a phone).
pub const MAX_DATA_CHARS: usize = 1000;

/// A message as lines, free of any markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// The headline: `🔴 DOWN backup-db: missed its ping`.
    pub title: String,
    pub lines: Vec<Line>,
    /// Where a click on the notification leads (the item's page, or the server for a
    /// burst or a test).
    pub link: Option<String>,
    pub tone: Tone,
}

/// One line; with `href` the whole line is a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub href: Option<String>,
}

impl Line {
    fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: None,
        }
    }

    fn link(text: impl Into<String>, href: &str) -> Self {
        Self {
            text: text.into(),
            href: Some(href.to_owned()),
        }
    }
}

/// How bad the news is, for the kinds that colour or prioritise a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Down,
    Up,
    Info,
}

impl Doc {
    /// The message as plain text: the title, then each line (a link's URL after its text).
    pub fn plain(&self) -> String {
        let mut out = self.title.clone();
        for line in &self.lines {
            out.push('\n');
            out.push_str(&line.text);
            if let Some(href) = &line.href {
                out.push_str(": ");
                out.push_str(href);
            }
        }
        out
    }

    /// The lines without the title, as plain text (for kinds that show the title apart).
    pub fn plain_body(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&line.text);
            if let Some(href) = &line.href {
                out.push_str(": ");
                out.push_str(href);
            }
        }
        out
    }
}

/// A [`Message`] as lines in `lang`.
pub fn doc(msg: &Message, lang: MessageLang) -> Doc {
    match msg {
        Message::One(item) => one(item, lang),
        Message::Burst(items) => burst(items, lang),
        Message::Test { base_url } => test(base_url, lang),
    }
}

/// How long something lasted, in words: `45 s`, `12 min`, `3 h`, `2 h 05 min`, `1 d 4 h`;
/// in Chinese `45 秒`, `12 分`, `3 小时`, `2 小时 5 分`, `1 天 4 小时`.
pub fn duration(d: Duration, lang: MessageLang) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let zh = lang == MessageLang::Zh;
    if secs < 60 {
        return if zh {
            format!("{secs} 秒")
        } else {
            format!("{secs} s")
        };
    }
    if days > 0 {
        return match (zh, hours) {
            (true, 0) => format!("{days} 天"),
            (true, h) => format!("{days} 天 {h} 小时"),
            (false, 0) => format!("{days} d"),
            (false, h) => format!("{days} d {h} h"),
        };
    }
    match (zh, hours, mins) {
        (true, 0, m) => format!("{m} 分"),
        (true, h, 0) => format!("{h} 小时"),
        (true, h, m) => format!("{h} 小时 {m} 分"),
        (false, 0, m) => format!("{m} min"),
        (false, h, 0) => format!("{h} h"),
        (false, h, m) => format!("{h} h {m:02} min"),
    }
}

/// Local time with its offset, and UTC: `2026-11-21 16:05:02 UTC+8 / 08:05:02 UTC`.
pub fn when(t: DateTime<Utc>, tz: Tz) -> String {
    let local = local_stamp(t, tz);
    if tz == chrono_tz::UTC {
        return local;
    }
    let same_day = t.with_timezone(&tz).date_naive() == t.date_naive();
    let utc = if same_day {
        t.format("%H:%M:%S UTC").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    };
    format!("{local} / {utc}")
}

/// Cut `s` to at most `max` characters, marking the cut with "…".
pub fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn zh(lang: MessageLang) -> bool {
    lang == MessageLang::Zh
}

/// What happened, after the name: "missed its ping" / "未按时报到".
pub fn reason(cause: Cause, lang: MessageLang) -> &'static str {
    let (en, zh_text) = match cause {
        Cause::Service(r) => match r {
            Reason::Late => ("is late", "已逾期"),
            Reason::Missed => ("missed its ping", "未按时报到"),
            Reason::Error => ("reported an error", "报告了错误"),
            Reason::Recovered => ("is up again", "已恢复"),
            Reason::Back => ("pinged again", "已重新报到"),
            Reason::Paused => ("was paused", "已暂停"),
            Reason::Resumed => ("was resumed", "已恢复监控"),
            Reason::Hung => (
                "is hung: a run did not finish in time",
                "卡住：运行超过最长时间仍未结束",
            ),
            Reason::RunTime => ("had a run of the wrong length", "运行时长超出范围"),
        },
        Cause::Host(r) => match r {
            HostReason::Offline => ("is offline: no report in time", "离线：未按时上报"),
            HostReason::Unreachable => ("is unreachable", "无法连接"),
            HostReason::Degraded => ("is degraded", "状态异常"),
            HostReason::Recovered => ("is up again", "已恢复"),
            HostReason::Cleared => ("passes its checks again", "检查已全部通过"),
            HostReason::Paused => ("was paused", "已暂停"),
            HostReason::Resumed => ("was resumed", "已恢复监控"),
        },
    };
    if zh(lang) { zh_text } else { en }
}

fn tone(item: &AlertItem) -> Tone {
    if item.cause.is_up() {
        Tone::Up
    } else if matches!(item.status.as_str(), "down" | "degraded") {
        Tone::Down
    } else {
        Tone::Info
    }
}

/// The status as a headline word with its colour: `🔴 DOWN` / `🔴 故障`.
fn status_word(item: &AlertItem, lang: MessageLang) -> String {
    let (emoji, en, zh_text) = if item.cause.is_up() {
        ("🟢", "UP", "恢复")
    } else {
        match item.status.as_str() {
            "down" => ("🔴", "DOWN", "故障"),
            "degraded" => ("🟠", "DEGRADED", "异常"),
            "paused" => ("⏸️", "PAUSED", "暂停"),
            "up" => ("🟢", "UP", "正常"),
            _ => ("⚪", "", ""),
        }
    };
    let word = match (zh(lang), en.is_empty()) {
        (_, true) => item.status.to_uppercase(),
        (true, false) => zh_text.to_owned(),
        (false, false) => en.to_owned(),
    };
    format!("{emoji} {word}")
}

/// One line for an item: `🔴 DOWN backup-db: missed its ping`, or for a recovery
/// `🟢 UP backup-db, down for 2 h 05 min`.
pub fn headline(item: &AlertItem, lang: MessageLang) -> String {
    let word = status_word(item, lang);
    let name = &item.name;
    match (item.cause.is_up(), item.outage, zh(lang)) {
        (true, Some(d), false) => format!("{word} {name}, down for {}", duration(d, lang)),
        (true, Some(d), true) => format!("{word} {name}，故障持续 {}", duration(d, lang)),
        (_, _, false) => format!("{word} {name}: {}", reason(item.cause, lang)),
        (_, _, true) => format!("{word} {name}：{}", reason(item.cause, lang)),
    }
}

fn label(lang: MessageLang, en: &str, zh_text: &str, value: &str) -> String {
    if zh(lang) {
        format!("{zh_text}：{value}")
    } else {
        format!("{en}: {value}")
    }
}

fn one(item: &AlertItem, lang: MessageLang) -> Doc {
    let mut lines = Vec::new();
    let host = matches!(item.cause, Cause::Host(_));
    if let Some(n) = item.reminder {
        let down_for = item.down_for.map(|d| duration(d, lang));
        lines.push(Line::text(match (zh(lang), down_for) {
            (false, Some(d)) => format!("Still down after {d}, reminder {n}"),
            (false, None) => format!("Still down, reminder {n}"),
            (true, Some(d)) => format!("仍然故障，已持续 {d}（第 {n} 次提醒）"),
            (true, None) => format!("仍然故障（第 {n} 次提醒）"),
        }));
    }
    lines.push(Line::text(label(
        lang,
        "When",
        "时间",
        &when(item.at, item.tz),
    )));
    if let Some(due) = item.due_at {
        lines.push(Line::text(label(
            lang,
            "Due",
            "应报到",
            &when(due, item.tz),
        )));
    }
    if let Some(seen) = item.last_seen {
        let (en, zh_text) = if host {
            ("Last report", "最后上报")
        } else {
            ("Last ping", "最后报到")
        };
        lines.push(Line::text(label(lang, en, zh_text, &when(seen, item.tz))));
    }
    if let Some(detail) = item.detail.as_deref().map(str::trim)
        && !detail.is_empty()
    {
        let (en, zh_text) = if host {
            ("Problems", "问题")
        } else {
            ("Data", "数据")
        };
        let detail = cut_chars(detail, MAX_DATA_CHARS);
        lines.push(Line::text(label(lang, en, zh_text, &detail)));
    }
    if !item.tags.is_empty() {
        lines.push(Line::text(label(
            lang,
            "Tags",
            "标签",
            &item.tags.join(", "),
        )));
    }
    let open = if zh(lang) {
        format!("查看 {}", item.name)
    } else {
        format!("Open {}", item.name)
    };
    lines.push(Line::link(open, &item.link));
    Doc {
        title: headline(item, lang),
        lines,
        link: Some(item.link.clone()),
        tone: tone(item),
    }
}

/// The count line of a burst: `12 down, 3 up` / `12 项故障，3 项恢复`.
pub fn burst_title(items: &[AlertItem], lang: MessageLang) -> String {
    let (mut down, mut degraded, mut up, mut other) = (0, 0, 0, 0);
    for item in items {
        match (item.cause.is_up(), item.status.as_str()) {
            (true, _) => up += 1,
            (false, "down") => down += 1,
            (false, "degraded") => degraded += 1,
            _ => other += 1,
        }
    }
    let parts: Vec<String> = [
        (down, "down", "项故障"),
        (degraded, "degraded", "项异常"),
        (up, "up", "项恢复"),
        (other, "other", "项其他"),
    ]
    .iter()
    .filter(|(n, ..)| *n > 0)
    .map(|(n, en, zh_text)| {
        if zh(lang) {
            format!("{n} {zh_text}")
        } else {
            format!("{n} {en}")
        }
    })
    .collect();
    let joined = parts.join(if zh(lang) { "，" } else { ", " });
    let emoji = if down + degraded > 0 { "🔴" } else { "🟢" };
    format!("{emoji} {joined}")
}

fn burst(items: &[AlertItem], lang: MessageLang) -> Doc {
    let mut lines: Vec<Line> = items
        .iter()
        .take(MAX_BURST_LINES)
        .map(|item| Line::link(headline(item, lang), &item.link))
        .collect();
    let more = items.len().saturating_sub(MAX_BURST_LINES);
    if more > 0 {
        lines.push(Line::text(if zh(lang) {
            format!("另有 {more} 项")
        } else {
            format!("and {more} more")
        }));
    }
    let tone = if items.iter().any(|i| tone(i) == Tone::Down) {
        Tone::Down
    } else {
        Tone::Up
    };
    Doc {
        title: burst_title(items, lang),
        lines,
        link: items.first().map(|i| base_of(&i.link)),
        tone,
    }
}

/// The server's address from a page link (`https://hb.example.com/services/x` →
/// `https://hb.example.com/`).
fn base_of(link: &str) -> String {
    match url::Url::parse(link) {
        Ok(mut u) => {
            u.set_path("/");
            u.set_query(None);
            u.to_string()
        }
        Err(_) => link.to_owned(),
    }
}

fn test(base_url: &str, lang: MessageLang) -> Doc {
    let (title, line) = if zh(lang) {
        ("Heartbeats 测试消息", "Heartbeats 测试消息：此通道工作正常")
    } else {
        (
            "Heartbeats test message",
            "Heartbeats test message: this channel works",
        )
    };
    Doc {
        title: format!("✅ {title}"),
        lines: vec![Line::link(line, base_url)],
        link: Some(base_url.to_owned()),
        tone: Tone::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        let en = MessageLang::En;
        let zh = MessageLang::Zh;
        assert_eq!(duration(Duration::seconds(45), en), "45 s");
        assert_eq!(duration(Duration::minutes(12), en), "12 min");
        assert_eq!(duration(Duration::hours(3), en), "3 h");
        assert_eq!(duration(Duration::minutes(125), en), "2 h 05 min");
        assert_eq!(duration(Duration::hours(28), en), "1 d 4 h");
        assert_eq!(duration(Duration::minutes(125), zh), "2 小时 5 分");
        assert_eq!(duration(Duration::hours(3), zh), "3 小时");
        assert_eq!(duration(Duration::days(2), zh), "2 天");
    }

    #[test]
    fn cuts_keep_whole_characters() {
        assert_eq!(cut_chars("备份失败了", 3), "备份…");
        assert_eq!(cut_chars("ok", 3), "ok");
    }
}
