//! Common crontab schedules in words, in English and Chinese: `30 2 * * 1-5` is
//! "weekdays at 02:30" / "工作日 02:30". Expressions outside the common shapes get no
//! words (the page shows the expression alone) rather than a wrong paraphrase.
use super::i18n::Lang;

const DAYS_EN: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAYS_ZH: [&str; 7] = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn number(s: &str, max: u32) -> Option<u32> {
    s.parse().ok().filter(|n| *n <= max)
}

fn day_of_week(s: &str) -> Option<usize> {
    let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Some(i);
    }
    number(s, 7).map(|n| n as usize % 7)
}

/// Hours and one minute: `2,14` and `30` → [02:30, 14:30].
fn times(minute: &str, hour: &str) -> Option<Vec<String>> {
    let m = number(minute, 59)?;
    hour.split(',')
        .map(|h| number(h, 23).map(|h| format!("{h:02}:{m:02}")))
        .collect()
}

enum Days {
    Every,
    Weekdays,
    Weekend,
    List(Vec<usize>),
}

fn days(dow: &str) -> Option<Days> {
    match dow {
        "*" => Some(Days::Every),
        "1-5" | "mon-fri" => Some(Days::Weekdays),
        "0,6" | "6,0" | "6,7" | "sat,sun" | "sun,sat" => Some(Days::Weekend),
        list => list
            .split(',')
            .map(day_of_week)
            .collect::<Option<Vec<_>>>()
            .map(Days::List),
    }
}

pub fn describe(expr: &str, lang: Lang) -> Option<String> {
    let expanded = match expr.trim() {
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        other => other,
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return None;
    };
    let zh = lang == Lang::Zh;
    // Every N minutes / every minute / hourly.
    if hour == "*" && dom == "*" && month == "*" && dow == "*" {
        if minute == "*" {
            return Some(if zh {
                "每分钟".into()
            } else {
                "every minute".into()
            });
        }
        if let Some(n) = minute.strip_prefix("*/").and_then(|n| number(n, 59)) {
            return Some(if zh {
                format!("每 {n} 分钟")
            } else {
                format!("every {n} min")
            });
        }
        let m = number(minute, 59)?;
        return Some(if zh {
            format!("每小时第 {m} 分")
        } else {
            format!("hourly at :{m:02}")
        });
    }
    if dom == "*"
        && month == "*"
        && dow == "*"
        && let Some(n) = hour.strip_prefix("*/").and_then(|n| number(n, 23))
    {
        let m = number(minute, 59)?;
        return Some(if zh {
            format!("每 {n} 小时，第 {m} 分")
        } else {
            format!("every {n} h at :{m:02}")
        });
    }
    let at = times(minute, hour)?.join(", ");
    match (dom, month) {
        ("*", "*") => Some(match (days(dow)?, zh) {
            (Days::Every, false) => format!("daily at {at}"),
            (Days::Every, true) => format!("每天 {at}"),
            (Days::Weekdays, false) => format!("weekdays at {at}"),
            (Days::Weekdays, true) => format!("工作日 {at}"),
            (Days::Weekend, false) => format!("weekends at {at}"),
            (Days::Weekend, true) => format!("周末 {at}"),
            (Days::List(list), false) => {
                let names: Vec<&str> = list.iter().map(|d| DAYS_EN[*d]).collect();
                format!("{} at {at}", names.join(", "))
            }
            (Days::List(list), true) => {
                let names: Vec<&str> = list.iter().map(|d| DAYS_ZH[*d]).collect();
                format!("每{} {at}", names.join("、"))
            }
        }),
        (dom, month) if dow == "*" => {
            let d = number(dom, 31).filter(|d| *d >= 1)?;
            if month == "*" {
                return Some(if zh {
                    format!("每月 {d} 日 {at}")
                } else {
                    format!("monthly on day {d} at {at}")
                });
            }
            let mo = number(month, 12).filter(|m| *m >= 1)?;
            Some(if zh {
                format!("每年 {mo} 月 {d} 日 {at}")
            } else {
                format!("yearly on {} {d} at {at}", MONTHS_EN[mo as usize - 1])
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shapes_in_both_languages() {
        let cases = [
            ("30 2 * * 1-5", "weekdays at 02:30", "工作日 02:30"),
            ("0 3 * * *", "daily at 03:00", "每天 03:00"),
            ("5 16 * * 0,6", "weekends at 16:05", "周末 16:05"),
            ("0 9 * * mon,wed", "Mon, Wed at 09:00", "每周一、周三 09:00"),
            ("0 9 * * 7", "Sun at 09:00", "每周日 09:00"),
            ("*/15 * * * *", "every 15 min", "每 15 分钟"),
            ("* * * * *", "every minute", "每分钟"),
            ("7 * * * *", "hourly at :07", "每小时第 7 分"),
            ("0 */6 * * *", "every 6 h at :00", "每 6 小时，第 0 分"),
            ("0 2,14 * * *", "daily at 02:00, 14:00", "每天 02:00, 14:00"),
            ("0 0 1 * *", "monthly on day 1 at 00:00", "每月 1 日 00:00"),
            (
                "0 0 1 1 *",
                "yearly on Jan 1 at 00:00",
                "每年 1 月 1 日 00:00",
            ),
            ("@daily", "daily at 00:00", "每天 00:00"),
        ];
        for (expr, en, zh) in cases {
            assert_eq!(describe(expr, Lang::En).as_deref(), Some(en), "{expr}");
            assert_eq!(describe(expr, Lang::Zh).as_deref(), Some(zh), "{expr}");
        }
        // Shapes we do not paraphrase.
        for expr in ["0 3 1-7 * 1", "*/5 9-17 * * 1-5", "0 3 L * *"] {
            assert_eq!(describe(expr, Lang::En), None, "{expr}");
        }
    }
}
