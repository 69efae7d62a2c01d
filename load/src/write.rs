//! The load report's outputs, each a pure function of a [`LoadReport`]: `load.json`, the
//! Markdown summary for a CI job page, and one self-contained HTML page whose charts (throughput
//! and latency over time) are SVG drawn by plotters. The text a server sent (error codes and
//! types) is escaped wherever it is shown.

use std::fmt::Write as _;
use std::time::Duration;

use plotters::prelude::*;
use protocol::markup::escape;

use crate::report::LoadReport;
use crate::schedule::PhaseKind;
use crate::stats::{Call, Generator, LATE, Latencies};

/// `load.json`: the whole report, histograms included.
pub fn json(report: &LoadReport) -> String {
    let mut text =
        serde_json::to_string_pretty(report).expect("a report is plain data that always serialises");
    text.push('\n');
    text
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// The percentiles every table shows, with their heads.
const PERCENTILES: [(&str, f64); 4] = [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)];

/// A latency table's rows: the whole transaction, then each call that was made.
fn latency_rows(report: &LoadReport) -> Vec<(String, &Latencies)> {
    let mut rows = vec![("transaction (end to end)".to_string(), report.transactions())];
    rows.extend(Call::ALL.iter().filter_map(|call| report.call(*call).map(|l| (call.name().to_string(), l))));
    rows
}

fn row_cells(latencies: &Latencies) -> Vec<String> {
    let mut cells = vec![latencies.count().to_string()];
    cells.extend(PERCENTILES.iter().map(|(_, p)| ms(latencies.percentile(*p))));
    cells.push(ms(latencies.max()));
    cells
}

fn plan_text(report: &LoadReport) -> String {
    let phases: Vec<String> = report
        .plan
        .phases
        .iter()
        .map(|p| {
            let kind = match p.kind {
                PhaseKind::RampUp => "ramp up",
                PhaseKind::Hold => "hold",
                PhaseKind::RampDown => "ramp down",
            };
            format!("{kind} {:.1} s", p.duration.as_secs_f64())
        })
        .collect();
    let rate = report.plan.phases.iter().map(|p| p.from.get().max(p.to.get())).fold(0.0, f64::max);
    format!("{} at {rate}/s", phases.join(", "))
}

fn throughput(report: &LoadReport) -> f64 {
    let seconds = report.plan.duration().as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "counts of a run are far below 2^52")]
    if seconds > 0.0 { report.measured.completed() as f64 / seconds } else { 0.0 }
}

/// What the generator says of its own limit.
pub fn generator_text(generator: &Generator) -> String {
    if generator.kept_rate() {
        return format!(
            "kept the asked rate: every arrival started within {} ms of when it was due (latest {:.3} ms)",
            LATE.as_millis(),
            generator.max_lateness_us as f64 / 1000.0
        );
    }
    let mut parts = Vec::new();
    if generator.late > 0 {
        parts.push(format!(
            "{} of {} arrivals started more than {} ms late (latest {:.3} ms): this machine could not generate the rate",
            generator.late,
            generator.asked,
            LATE.as_millis(),
            generator.max_lateness_us as f64 / 1000.0
        ));
    }
    if generator.dropped > 0 {
        parts.push(format!(
            "{} arrivals were not started because the in-flight bound was reached (counted as failed)",
            generator.dropped
        ));
    }
    if generator.waited_for_device > 0 {
        parts.push(format!(
            "{} transactions waited for an idle device (enroll more with --devices)",
            generator.waited_for_device
        ));
    }
    format!("could not keep the asked rate: {}", parts.join("; "))
}

fn verdict(report: &LoadReport) -> &'static str {
    if report.passed() { "passed" } else { "FAILED" }
}

/// The Markdown summary (`load-summary.md`).
pub fn markdown(report: &LoadReport) -> String {
    let m = &report.measured;
    let mut out = format!("# mobauth load: {}\n\n", verdict(report));
    let shards: Vec<String> = report.shards.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "Target `{}` · {} · shards {} · seed {} · {} devices · {:.1} s\n",
        report.target.replace('`', "'"),
        plan_text(report),
        shards.join(", "),
        report.seed,
        report.devices,
        report.duration.as_secs_f64()
    );
    out.push_str("| Transactions | due | started | accepted | failed | throughput |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
    let _ = writeln!(
        out,
        "| | {} | {} | {} | {} | {:.1}/s |\n",
        m.generator.asked,
        m.started(),
        m.completed(),
        m.failed_transactions,
        throughput(report)
    );
    out.push_str("| Latency (ms) | count | p50 | p90 | p99 | p99.9 | max |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (name, latencies) in latency_rows(report) {
        let _ = writeln!(out, "| {name} | {} |", row_cells(latencies).join(" | "));
    }
    if !report.checked.is_empty() {
        out.push_str("\n| Threshold | measured | verdict |\n| --- | ---: | --- |\n");
        for c in &report.checked {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                c.threshold,
                c.actual,
                if c.passed { "passed" } else { "**failed**" }
            );
        }
    }
    if !m.failures.is_empty() {
        out.push_str("\n| Failure | count |\n| --- | ---: |\n");
        for f in m.failures.values() {
            let _ = writeln!(out, "| {} | {} |", f.failure.to_string().replace('|', "/"), f.count);
        }
    }
    let _ = writeln!(out, "\nGenerator: {}.", generator_text(&m.generator));
    out
}

/// A line of a chart: its name, colour and points.
type Line = (&'static str, RGBColor, Vec<(f64, f64)>);

/// An SVG line chart over the run's seconds.
fn chart(title: &str, unit: &str, lines: &[Line], seconds: f64) -> Result<String, String> {
    let top = lines.iter().flat_map(|(_, _, points)| points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..seconds.max(1.0), 0f64..(top * 1.1).max(1.0))
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().x_desc("second of the run").y_desc(unit).draw().map_err(|e| e.to_string())?;
        for (name, color, points) in lines {
            let color = *color;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The throughput and latency charts, drawn from the timeline.
fn charts(report: &LoadReport) -> String {
    let timeline = &report.measured.timeline;
    #[allow(clippy::cast_precision_loss, reason = "a timeline holds at most a day of seconds")]
    let x = |i: usize| i as f64 + 0.5;
    #[allow(clippy::cast_precision_loss, reason = "counts of a second are far below 2^52")]
    let counts = |pick: fn(&crate::stats::Second) -> u64| -> Vec<(f64, f64)> {
        timeline.iter().enumerate().map(|(i, s)| (x(i), pick(s) as f64)).collect()
    };
    let percentile = |p: f64| -> Vec<(f64, f64)> {
        timeline
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.latencies.as_ref().map(|l| (x(i), l.get().percentile(p).as_secs_f64() * 1000.0))
            })
            .collect()
    };
    #[allow(clippy::cast_precision_loss, reason = "a timeline holds at most a day of seconds")]
    let seconds = timeline.len() as f64;
    let throughput = chart(
        "Transactions a second",
        "transactions",
        &[
            ("started", RGBColor(90, 110, 140), counts(|s| s.started)),
            ("accepted", RGBColor(30, 130, 60), counts(|s| s.completed)),
            ("failed", RGBColor(200, 40, 40), counts(|s| s.failed)),
        ],
        seconds,
    );
    let latency = chart(
        "End-to-end latency of the transactions that ended each second",
        "ms",
        &[
            ("p50", RGBColor(30, 100, 180), percentile(50.0)),
            ("p90", RGBColor(230, 140, 20), percentile(90.0)),
            ("p99", RGBColor(200, 40, 40), percentile(99.0)),
        ],
        seconds,
    );
    [throughput, latency]
        .into_iter()
        .map(|svg| svg.unwrap_or_else(|e| format!("<p>The chart could not be drawn: {}</p>", escape(&e))))
        .map(|svg| format!("<figure>{svg}</figure>\n"))
        .collect()
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

/// One self-contained page (`load.html`): the verdict, the tables of the summary and the charts.
pub fn html(report: &LoadReport) -> String {
    let m = &report.measured;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mobauth load</title>\n<style>\
         body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:1em 0}\
         td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}\
         .passed{color:#1e823c}.failed{color:#c82828}figure{margin:1em 0}\
         </style></head><body>\n",
    );
    let class = if report.passed() { "passed" } else { "failed" };
    let _ = writeln!(out, "<h1 id=\"verdict\" class=\"{class}\">mobauth load: {}</h1>", verdict(report));
    let shards: Vec<String> = report.shards.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "<p>Target {} · {} · shards {} · seed {} · {} devices · {:.1} s</p>",
        escape(&report.target),
        escape(&plan_text(report)),
        escape(&shards.join(", ")),
        report.seed,
        report.devices,
        report.duration.as_secs_f64()
    );
    let _ = writeln!(out, "<p id=\"generator\">Generator: {}.</p>", escape(&generator_text(&m.generator)));
    if !report.checked.is_empty() {
        let rows: Vec<Vec<String>> = report
            .checked
            .iter()
            .map(|c| {
                vec![c.threshold.clone(), c.actual.clone(), if c.passed { "passed" } else { "failed" }.into()]
            })
            .collect();
        out.push_str("<h2>Thresholds</h2>\n");
        out.push_str(&table(&["threshold", "measured", "verdict"], &rows));
    }
    out.push_str("<h2>Transactions</h2>\n");
    let totals = vec![vec![
        m.generator.asked.to_string(),
        m.started().to_string(),
        m.completed().to_string(),
        m.failed_transactions.to_string(),
        format!("{:.1}/s", throughput(report)),
    ]];
    out.push_str(&table(&["due", "started", "accepted", "failed", "throughput"], &totals));
    out.push_str(&charts(report));
    out.push_str("<h2>Latency (ms)</h2>\n");
    let rows: Vec<Vec<String>> = latency_rows(report)
        .into_iter()
        .map(|(name, l)| std::iter::once(name).chain(row_cells(l)).collect())
        .collect();
    out.push_str(&table(&["", "count", "p50", "p90", "p99", "p99.9", "max"], &rows));
    if !m.failures.is_empty() {
        out.push_str("<h2>Failures</h2>\n");
        let rows: Vec<Vec<String>> =
            m.failures.values().map(|f| vec![f.failure.to_string(), f.count.to_string()]).collect();
        out.push_str(&table(&["failure", "count"], &rows));
    }
    out.push_str("</body></html>\n");
    out
}
