//! Charts drawn on the server as SVG, for the figures' pages and endpoints (statistics,
//! transparency): horizontal bars with a title and a description for screen readers, every
//! text escaped, no script and no style sheet (so a strict Content-Security-Policy holds).

/// Text for SVG and HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart: one row per label, a bar per value (up to three series, each in
/// its colour, named by `legend`). `id` names the chart within its page: its title and
/// description are `{id}-title` and `{id}-desc`, so that several charts on one page each
/// keep their own accessible name.
pub fn bars(
    id: &str,
    title: &str,
    description: &str,
    rows: &[(String, Vec<u64>)],
    legend: &[&str],
) -> String {
    /// Each bar's height: its value's label (12 px text) fits beside it without touching
    /// the next bar's.
    const BAR: usize = 16;
    const LABEL: usize = 150;
    const WIDTH: usize = 640;
    let max = rows
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let series = rows
        .iter()
        .map(|(_, values)| values.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let row = (8 + series * BAR).max(28);
    let height = 56 + rows.len().max(1) * row + 24;
    let colours = ["#1d5f8a", "#b35900", "#2e7d32"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"sans-serif\" \
         font-size=\"13\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>\
         <text x=\"0\" y=\"18\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape(title),
        escape(description),
        escape(title)
    );
    for (n, name) in legend.iter().enumerate() {
        let x = LABEL + n * 140;
        svg += &format!(
            "<rect x=\"{x}\" y=\"30\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"41\">{}</text>",
            colours[n % colours.len()],
            x + 18,
            escape(name)
        );
    }
    if rows.is_empty() {
        svg += "<text x=\"0\" y=\"76\">No figures in this period.</text>";
    }
    let span = WIDTH - LABEL - 60;
    for (i, (label, values)) in rows.iter().enumerate() {
        let y = 56 + i * row;
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 8,
            y + row / 2 + 5,
            escape(label)
        );
        for (n, value) in values.iter().enumerate() {
            let width = (*value as usize * span) / max as usize;
            let top = y + 4 + n * BAR;
            svg += &format!(
                "<rect x=\"{LABEL}\" y=\"{top}\" width=\"{width}\" height=\"{}\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"12\">{value}</text>",
                BAR - 2,
                colours[n % colours.len()],
                LABEL + width + 4,
                top + BAR - 4,
            );
        }
    }
    svg += "</svg>";
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vertical extent of every bar, in drawing order.
    fn bar_spans(svg: &str) -> Vec<(usize, usize)> {
        svg.split("<rect ")
            .skip(1)
            .filter(|rect| !rect.contains("width=\"12\" height=\"12\"")) // the legend
            .map(|rect| {
                let number = |name: &str| -> usize {
                    let at = rect.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                    rect[at..].split('"').next().unwrap().parse().unwrap()
                };
                (number("y"), number("y") + number("height"))
            })
            .collect()
    }

    #[test]
    fn bars_never_overlap_whatever_the_number_of_series() {
        for series in 1..=3 {
            let rows: Vec<(String, Vec<u64>)> = (0..4)
                .map(|m| {
                    (
                        format!("2026-0{m}"),
                        (0..series as u64).map(|v| v * m).collect(),
                    )
                })
                .collect();
            let svg = bars("c", "T", "D", &rows, &["a", "b", "c"][..series]);
            let spans = bar_spans(&svg);
            assert_eq!(spans.len(), 4 * series);
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "{series} series: {pair:?} overlap");
            }
            let height: usize = svg
                .split("viewBox=\"0 0 640 ")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(spans.last().unwrap().1 <= height, "inside the picture");
        }
    }

    #[test]
    fn each_chart_names_itself_by_its_own_ids() {
        let svg = bars("urls", "T <1>", "D", &[], &["a"]);
        assert!(
            svg.contains("aria-labelledby=\"urls-title urls-desc\"")
                && svg.contains("<title id=\"urls-title\">T &lt;1&gt;</title>")
                && svg.contains("<desc id=\"urls-desc\">D</desc>"),
            "{svg}"
        );
        let other = bars("reports", "T", "D", &[], &["a"]);
        assert!(other.contains("id=\"reports-title\"") && !other.contains("urls-"));
    }
}
