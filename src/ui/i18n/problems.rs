//! Validation errors in the reader's language. The use cases return a [`Problem`]; the
//! API shows its English text, the forms show it from here, in English or Chinese.
use super::Lang;
use crate::domain::Problem;
use crate::domain::cron::CronError;
use crate::domain::schedule::{ScheduleError, ScheduleKind};

impl Lang {
    pub fn problem(self, p: &Problem) -> String {
        match self {
            Lang::En => english(p),
            Lang::Zh => chinese(p),
        }
    }
}

/// The API's wording, except where a form reads better with its own.
fn english(p: &Problem) -> String {
    let t = Lang::En.t();
    match p {
        Problem::Required | Problem::RequiredFor(_) => t.required.to_owned(),
        Problem::DurationRange { .. } | Problem::Schedule(ScheduleError::IntervalTooShort) => {
            t.duration_range.to_owned()
        }
        Problem::ServiceNameTaken { .. } => t.name_taken.to_owned(),
        Problem::WrongPassword => t.wrong_current_password.to_owned(),
        Problem::PasswordMismatch => t.passwords_differ.to_owned(),
        other => other.to_string(),
    }
}

fn chinese(p: &Problem) -> String {
    let t = Lang::Zh.t();
    match p {
        Problem::Required | Problem::RequiredFor(_) => t.required.to_owned(),
        Problem::KindRequired => "必填：间隔、每日或 cron".to_owned(),
        Problem::TooLong { max } => format!("最多 {max} 个字符"),
        Problem::ControlCharacters => "不能包含控制字符或不可见的格式字符".to_owned(),
        Problem::BadServiceId => "须为 1-16 个字母、数字、'_' 或 '-'".to_owned(),
        Problem::TagTooLong { tag } => format!("标签 '{tag}' 超过 50 个字符"),
        Problem::TagCharacters { tag } => format!("标签 '{tag}' 不能包含空格或 '%'"),
        Problem::TooManyTags { max } => format!("最多 {max} 个标签"),
        Problem::BadEmail { value } => format!("'{value}' 不是有效的邮箱地址"),
        Problem::TooManyAddresses { max } => format!("最多 {max} 个地址"),
        Problem::DurationRange { .. } | Problem::Schedule(ScheduleError::IntervalTooShort) => {
            t.duration_range.to_owned()
        }
        Problem::NotANumber => t.must_be_number.to_owned(),
        Problem::NotForKind(kind) => format!(
            "不属于{}类型的服务；请去掉它或修改类型",
            match kind {
                ScheduleKind::Interval => "间隔",
                ScheduleKind::Daily => "每日",
                ScheduleKind::Cron => "cron ",
            }
        ),
        Problem::UnknownKind { value } => {
            format!("'{value}' 不是 interval、daily 或 cron 之一")
        }
        Problem::Unknown(u) => format!("未知的值 '{}'，可选：{}", u.value, u.allowed),
        Problem::Schedule(ScheduleError::BadTimeOfDay) => "格式应为 HH:MM，例如 16:05".to_owned(),
        Problem::Schedule(ScheduleError::UnknownTimeZone(zone)) => {
            format!("未知时区 '{zone}'，请使用 IANA 名称，例如 Asia/Shanghai")
        }
        Problem::Schedule(ScheduleError::Cron(c)) => cron_chinese(c),
        Problem::UserName => "用户名须为 1-64 个字母、数字、'_'、'-'、'.' 或 '@'".to_owned(),
        Problem::PasswordTooShort { min } => format!("密码至少 {min} 个字符"),
        Problem::PasswordTooLong { max } => format!("密码最多 {max} 字节"),
        Problem::PasswordMismatch => t.passwords_differ.to_owned(),
        Problem::WrongPassword => t.wrong_current_password.to_owned(),
        Problem::ServiceNameTaken { .. } => t.name_taken.to_owned(),
        Problem::UserNameTaken { name } => format!("用户 '{name}' 已存在"),
        Problem::LastAdmin => "这是最后一位管理员；请先把另一位用户设为管理员".to_owned(),
        Problem::LimitRange { max } => format!("须为 1 到 {max} 之间的整数"),
        Problem::BadCursor => "不是本列表的翻页位置；请去掉它重新开始".to_owned(),
        Problem::HostNameTaken { name } => format!("名为 '{name}' 的主机已存在"),
        Problem::NumberRange { min, max } => format!("须在 {min} 到 {max} 之间"),
        Problem::WrongType { expected } => format!("类型错误，应为 {expected}"),
        Problem::NoKnownFields => {
            "不含任何可识别的字段（cpu_pct、load1、mem_used_bytes、disks、gpus、processes、units、error 等）"
                .to_owned()
        }
        Problem::TooManyItems { max } => format!("最多 {max} 项"),
        Problem::BadRegex { error } => format!("不是有效的正则表达式：{error}"),
        Problem::BadAddress => "须为主机名或 IP 地址，可带 :端口".to_owned(),
        Problem::InFuture { max_secs } => {
            format!("比服务器时间超前 {max_secs} 秒以上；请检查发送方的时钟")
        }
        Problem::BadTime => "须为时间：RFC 3339（2026-01-17T10:00:00Z）或 Unix 秒数".to_owned(),
        Problem::TimeOrder => "须早于 `to`".to_owned(),
        Problem::TooManyPoints { max } => {
            format!("请求的数据点超过 {max} 个；请缩短时间范围或使用 step=3600")
        }
        Problem::CollectorName => {
            "须为 1-64 个字母、数字、'.'、'_' 或 '-'：即 `hb-agent watch --collector` 的名称"
                .to_owned()
        }
        Problem::BadUrl => "须为 http:// 或 https:// 开头的网址".to_owned(),
        Problem::BadTopic => "须为 1-64 个字母、数字、'-' 或 '_'".to_owned(),
        Problem::BadHeader { name } => {
            format!("请求头 '{name}' 无效：名称只能含字母、数字、'-' 和 '_'，值须在一行内")
        }
        Problem::ChannelNameTaken { name } => format!("已有名为 '{name}' 的通知渠道"),
        Problem::UnknownChannel { id } => format!("没有 id 为 '{id}' 的通知渠道"),
        Problem::BadWindowTime => {
            "须为时间：RFC 3339（2026-12-06T02:00:00+08:00）或该时段时区内的 YYYY-MM-DDTHH:MM"
                .to_owned()
        }
        Problem::EndsBeforeStart => "须晚于开始时间".to_owned(),
        Problem::WindowTooLong { max_days } => format!("结束时间最多在开始后 {max_days} 天"),
        Problem::MinutesOrUntil => "请只填 minutes 或 until 其中之一".to_owned(),
        Problem::SnoozeRange => "须在现在之后 1 分钟到 30 天之间".to_owned(),
        Problem::BadRid => "须为 UUID（例如 5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c）".to_owned(),
        Problem::BadSlug => "只能含小写字母 a-z、数字、'-' 和 '_'".to_owned(),
        Problem::SlugTaken { slug } => format!("短名 '{slug}' 已被另一个服务使用"),
        Problem::MinAboveMax => "不能超过最长运行时间".to_owned(),
    }
}

fn cron_field(field: &str) -> &'static str {
    match field {
        "minute" => "分钟",
        "hour" => "小时",
        "day-of-month" => "日期",
        "month" => "月份",
        "day-of-week" => "星期",
        _ => "字段",
    }
}

fn cron_chinese(c: &CronError) -> String {
    match c {
        CronError::Empty => "cron 表达式为空".to_owned(),
        CronError::FieldCount { found } => {
            format!("应有 5 个字段（分钟 小时 日期 月份 星期），实际 {found} 个")
        }
        CronError::Reboot => "不支持 @reboot：它在开机时运行，没有可监控的计划".to_owned(),
        CronError::UnknownMacro(m) => format!(
            "未知的宏 '{m}'，可用 @yearly、@annually、@monthly、@weekly、@daily、@midnight 或 @hourly"
        ),
        CronError::MissingValue { field } => format!("{}字段：缺少值", cron_field(field)),
        CronError::NotANumber { field, text } => {
            format!("{}字段：'{text}' 不是数字", cron_field(field))
        }
        CronError::UnknownName { field, name } => {
            format!("{}字段：未知名称 '{name}'", cron_field(field))
        }
        CronError::OutOfRange {
            field,
            value,
            min,
            max,
        } => format!("{}字段：{value} 超出范围 {min}-{max}", cron_field(field)),
        CronError::ReversedRange { field, start, end } => format!(
            "{}字段：范围 {start}-{end} 颠倒了，起始值不能大于结束值",
            cron_field(field)
        ),
        CronError::BadStep { field, text } => {
            format!("{}字段：步长 '{text}' 不是数字", cron_field(field))
        }
        CronError::ZeroStep { field } => format!("{}字段：步长至少为 1", cron_field(field)),
        CronError::StepTooLarge { field, step, max } => format!(
            "{}字段：步长 {step} 超过该字段的 {max} 个取值",
            cron_field(field)
        ),
        CronError::TooLong { max } => format!("表达式超过 {max} 个字符"),
        CronError::NeverFires(expr) => format!(
            "'{expr}' 永远不会触发（未来五年内没有触发时间，例如 2 月 30 日）：该服务永远不会告警"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::Schedule;

    #[test]
    fn every_cron_error_reads_in_chinese() {
        for expr in [
            "",
            "* * *",
            "@reboot",
            "@often",
            "61 * * * *",
            "a * * * *",
            "* * * foo *",
            "5-1 * * * *",
            "*/x * * * *",
            "*/0 * * * *",
            "1, * * * *",
            "*/61 * * * *",
            "0 0 31 2 *",
        ] {
            let e = Schedule::cron(expr).unwrap_err();
            let zh = Lang::Zh.problem(&Problem::from(e.clone()));
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{expr:?}: {zh}"
            );
            assert_eq!(Lang::En.problem(&Problem::from(e.clone())), e.to_string());
        }
        assert_eq!(
            Lang::Zh.problem(&Problem::from(Schedule::cron("61 * * * *").unwrap_err())),
            "分钟字段：61 超出范围 0-59"
        );
    }
}
