//! One self-contained HTML page that opens offline (no scripts, fonts or styles from elsewhere):
//! the gate and run metadata, the problems first, the requirement matrix by area and level, and
//! every scenario with its steps, each step's HTTP exchanges to unfold, and the scanned QR images
//! as pictures (`data:` URIs).

use std::fmt::Write as _;

use super::escaped::Escaped;
use super::{listed, seconds};
use crate::{ExchangeRecord, Report, ScenarioResult, StepStatus, Verdict};

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2329;max-width:80rem}\
h1{margin-bottom:.2rem}table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f5f7}td.n{text-align:right}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}\
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:.25rem 0}\
.banner{padding:.6rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#82071e}\
.v{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:.8rem;font-weight:600;white-space:nowrap}\
.v-passed{background:#dafbe1;color:#116329}.v-harness_error,.v-failed,.v-unexpected_pass{background:#ffebe9;color:#82071e}\
.v-expected_failure{background:#fff8c5;color:#7d4e00}.v-not_applicable,.v-not_implemented,.v-not_run{background:#eaeef2;color:#424a53}\
details{margin:.3rem 0}summary{cursor:pointer}.scenario{border:1px solid #d0d7de;border-radius:6px;padding:.4rem .8rem;margin:.5rem 0}\
.step{margin:.2rem 0 .2rem 1rem}.s-failed,.s-undefined{color:#82071e;font-weight:600}.s-not_run{color:#6e7781}.msg{color:#82071e}\
img.qr{width:12rem;image-rendering:pixelated;border:1px solid #d0d7de;margin:.3rem}.muted{color:#6e7781}";

fn badge(verdict: Verdict) -> String {
    format!("<span class=\"v v-{}\">{}</span>", verdict.as_str(), verdict.label())
}

fn anchor(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

fn exchange(out: &mut String, ex: &ExchangeRecord) {
    let status = ex.status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
    let _ = write!(
        out,
        "<details><summary><code>{} {}</code> → <b>{}</b> <span class=\"muted\">{} ms</span></summary>",
        Escaped(&ex.method),
        Escaped(&ex.url),
        status,
        ex.duration_ms
    );
    out.push_str("<div>Request</div><pre>");
    headers(out, &ex.request_headers);
    if !ex.request_body.is_empty() {
        let _ = write!(out, "\n\n{}", Escaped(&ex.request_body));
    }
    out.push_str("</pre><div>Response</div><pre>");
    headers(out, &ex.response_headers);
    if !ex.response_body.is_empty() {
        let _ = write!(out, "\n\n{}", Escaped(&ex.response_body));
    }
    out.push_str("</pre></details>");
}

/// Headers a line each, `name: value`, escaped (piece by piece: escaping is character by
/// character, so the pieces escaped are the whole escaped).
fn headers(out: &mut String, list: &[crate::Header]) {
    for (i, header) in list.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{}: {}", Escaped(&header.name), Escaped(&header.value));
    }
}

fn images(out: &mut String, scenario: &ScenarioResult, step: Option<usize>) {
    for image in scenario.qr_images.iter().filter(|i| i.step == step) {
        let _ = write!(
            out,
            "<img class=\"qr\" alt=\"QR code scanned\" src=\"data:{};base64,{}\">",
            Escaped(&image.media_type),
            image.data_base64
        );
    }
}

fn scenario_block(out: &mut String, report: &Report, scenario: &ScenarioResult) {
    let open = if scenario.verdict.is_problem() { " open" } else { "" };
    let _ = write!(
        out,
        "<div class=\"scenario\" id=\"{}\"><details{open}><summary>{} <b>{}</b> <code>{}</code> {} <span class=\"muted\">{} · {} ms</span></summary>",
        anchor(&scenario.id),
        badge(scenario.verdict),
        Escaped(&scenario.name),
        Escaped(&scenario.id),
        scenario
            .requirements
            .iter()
            .map(|r| format!("<code>{}</code>", Escaped(r)))
            .collect::<Vec<_>>()
            .join(" "),
        report.scenario_level(scenario),
        scenario.duration_ms,
    );
    if let Some(message) = &scenario.message {
        let _ = write!(out, "<pre class=\"msg\">{}</pre>", Escaped(message));
    }
    if let Some(entry) = scenario.expectation.and_then(|i| report.expectations.get(i)) {
        let _ = write!(
            out,
            "<p class=\"muted\">Expectations file: {} (owner {}, expires {})</p>",
            Escaped(&entry.entry.reason),
            Escaped(&entry.entry.owner),
            entry.entry.expires
        );
    }
    let _ = write!(
        out,
        "<p class=\"muted\">tags: {} · seed {}</p>",
        Escaped(&scenario.tags.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(" ")),
        scenario.seed
    );
    images(out, scenario, None);
    for (i, step) in scenario.steps.iter().enumerate() {
        let status = step.status.as_str();
        let _ = write!(
            out,
            "<div class=\"step s-{status}\">{}<b>{}</b>{} <span class=\"muted\">line {} · {status} · {} ms</span>",
            if step.background { "<span class=\"muted\">(background) </span>" } else { "" },
            Escaped(&step.keyword),
            Escaped(&step.text),
            step.line,
            step.duration_ms,
        );
        if let Some(error) = step.error.as_deref().filter(|_| step.status == StepStatus::Failed) {
            let _ = write!(out, "<pre class=\"msg\">{}</pre>", Escaped(error));
        }
        for ex in &step.exchanges {
            exchange(out, ex);
        }
        images(out, scenario, Some(i));
        out.push_str("</div>");
    }
    out.push_str("</details></div>\n");
}

/// The report as one HTML page.
pub fn html(report: &Report) -> String {
    let mut out = String::new();
    let run = &report.run;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mobauth conformance report</title><style>{STYLE}</style></head><body>\n<h1>mobauth conformance report</h1>\n"
    );
    if report.gate.conformant {
        out.push_str("<div class=\"banner ok\">Conformant (exit 0)</div>\n");
    } else {
        let _ = write!(out, "<div class=\"banner bad\">Not conformant (exit {})<ul>", report.gate.exit_code);
        // A handful of reasons, and the count of the rest: a target that fails hundreds of
        // scenarios would otherwise bury the page under its banner; the table below lists them all.
        let (shown, more) = listed(&report.gate.reasons);
        for reason in shown {
            let _ = write!(out, "<li>{}</li>", Escaped(reason));
        }
        if more > 0 {
            let _ = write!(out, "<li>… and {more} more: see <a href=\"#failures\">Failures</a> below</li>");
        }
        out.push_str("</ul></div>\n");
    }
    let _ = write!(out, "<table><tr><th>Target</th><td>{}</td></tr>", Escaped(&run.target.description));
    let _ = write!(out, "<tr><th>Suite</th><td>mobauth {}</td></tr>", Escaped(&run.suite_version));
    let _ = write!(out, "<tr><th>Seed</th><td>{}</td></tr>", run.seed);
    if let Some(tags) = &run.tags {
        let _ = write!(out, "<tr><th>Tags</th><td><code>{}</code></td></tr>", Escaped(tags));
    }
    if let Some(shard) = run.shard {
        let _ = write!(out, "<tr><th>Shard</th><td>{shard}</td></tr>");
    }
    let _ = writeln!(
        out,
        "<tr><th>Strict</th><td>{}</td></tr><tr><th>Scenarios</th><td>{} of {}</td></tr><tr><th>Started</th><td>{}</td></tr><tr><th>Duration</th><td>{} s</td></tr></table>",
        if run.strict { "yes" } else { "no" },
        report.scenarios.len(),
        run.suite_scenarios,
        run.started_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        seconds(report.duration_ms()),
    );

    let _ = write!(out, "<h2>Totals</h2><table><tr><th></th>");
    for verdict in Verdict::ALL {
        let _ = write!(out, "<th>{}</th>", badge(verdict));
    }
    out.push_str("</tr>");
    for (name, counts) in
        [("Scenarios", &report.summary.scenarios), ("Requirements", &report.summary.requirements)]
    {
        let _ = write!(out, "<tr><th>{name}</th>");
        for verdict in Verdict::ALL {
            let _ = write!(out, "<td class=\"n\">{}</td>", counts.get(verdict));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");

    let problems: Vec<&ScenarioResult> = report.scenarios.iter().filter(|s| s.verdict.is_problem()).collect();
    let entries: Vec<_> = report.expectations.iter().filter(|e| e.status.problem().is_some()).collect();
    if !problems.is_empty() || !entries.is_empty() {
        out.push_str("<h2 id=\"failures\">Failures</h2>\n");
        if !problems.is_empty() {
            out.push_str("<table><tr><th>Verdict</th><th>Requirements</th><th>Level</th><th>Scenario</th><th>Message</th></tr>");
            for scenario in &problems {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"#{}\">{}</a><br>{}</td><td><pre class=\"msg\">{}</pre></td></tr>",
                    badge(scenario.verdict),
                    Escaped(&scenario.requirements.join(" ")),
                    report.scenario_level(scenario),
                    anchor(&scenario.id),
                    Escaped(&scenario.id),
                    Escaped(&scenario.name),
                    Escaped(scenario.message.as_deref().unwrap_or("")),
                );
            }
            out.push_str("</table>\n");
        }
        if !entries.is_empty() {
            out.push_str("<table><tr><th>Expectation</th><th>Problem</th><th>Owner</th><th>Expires</th><th>Reason</th></tr>");
            for entry in entries {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    Escaped(&entry.entry.pattern.to_string()),
                    entry.status.problem().unwrap_or(""),
                    Escaped(&entry.entry.owner),
                    entry.entry.expires,
                    Escaped(&entry.entry.reason)
                );
            }
            out.push_str("</table>\n");
        }
    }

    out.push_str("<h2>Requirements by area and level</h2>\n<table><tr><th>Area</th><th>Level</th>");
    for verdict in Verdict::ALL {
        let _ = write!(out, "<th>{}</th>", badge(verdict));
    }
    out.push_str("</tr>");
    for row in &report.summary.by_area {
        let _ = write!(
            out,
            "<tr><td><a href=\"#area-{}\">{}</a> {}</td><td>{}</td>",
            anchor(&row.area),
            Escaped(&row.area),
            Escaped(report.area_title(&row.area)),
            row.level
        );
        for verdict in Verdict::ALL {
            let _ = write!(out, "<td class=\"n\">{}</td>", row.counts.get(verdict));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");
    for area in &report.areas {
        let mut requirements: Vec<_> = report.requirements.iter().filter(|r| r.area == area.prefix).collect();
        requirements.sort_by_key(|r| (r.verdict, r.level));
        let open = if requirements.iter().any(|r| r.verdict.is_problem()) { " open" } else { "" };
        let _ = write!(
            out,
            "<details id=\"area-{}\"{open}><summary><b>{}</b> {}</summary><table><tr><th>ID</th><th>Level</th><th>Verdict</th><th>Requirement</th><th>Scenarios</th></tr>",
            anchor(&area.prefix),
            Escaped(&area.prefix),
            Escaped(&area.title)
        );
        for requirement in requirements {
            let links: Vec<String> = requirement
                .scenarios
                .iter()
                .map(|id| format!("<a href=\"#{}\">{}</a>", anchor(id), Escaped(id)))
                .collect();
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                Escaped(&requirement.id),
                requirement.level,
                badge(requirement.verdict),
                Escaped(&requirement.text),
                links.join("<br>")
            );
        }
        out.push_str("</table></details>\n");
    }

    out.push_str("<h2>Scenarios</h2>\n");
    let mut rest: Vec<&ScenarioResult> =
        report.scenarios.iter().filter(|s| !s.verdict.is_problem()).collect();
    rest.sort_by_key(|s| s.verdict);
    for scenario in problems.iter().chain(&rest) {
        scenario_block(&mut out, report, scenario);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exchange's URL, headers and bodies are on the page escaped, piece by piece as the whole
    /// was: markup as entities, the characters XML forbids dropped, the rest as it came.
    #[test]
    fn an_exchange_is_shown_escaped() {
        let page = html(&super::super::sample::report());
        for fragment in [
            "<code>POST http://127.0.0.1:8080/enroll?a=1&amp;b=&lt;2&gt;</code> → <b>201</b>",
            "<div>Request</div><pre>authorization: Bearer [redacted:1f2e3d4c]\nx-odd: ab&quot;c&apos;\n\n\
             {&quot;csr&quot;:&quot;&lt;pem&gt;&quot;,&quot;note&quot;:&quot;ü &amp; \\uFFFF&quot;}</pre>",
            "<div>Response</div><pre>content-type: application/json\n\n{&quot;id&quot;:&quot;e-1&quot;}\u{FFFD}</pre>",
            "<pre class=\"msg\">expected &lt;201&gt; &amp; &quot;created&quot;, got &apos;nothing&apos; — ✗</pre>",
            "<b>Enrolls, &lt;fine&gt;</b>",
        ] {
            assert!(page.contains(fragment), "{fragment}");
        }
    }
}
