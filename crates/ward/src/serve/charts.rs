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
/// its colour, named by `legend`).
pub fn bars(
    title: &str,
    description: &str,
    rows: &[(String, Vec<u64>)],
    legend: &[&str],
) -> String {
    const ROW: usize = 28;
    const LABEL: usize = 150;
    const WIDTH: usize = 640;
    let max = rows
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = 56 + rows.len().max(1) * ROW + 24;
    let colours = ["#1d5f8a", "#b35900", "#2e7d32"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-labelledby=\"t d\" font-family=\"sans-serif\" font-size=\"13\">\
         <title id=\"t\">{}</title><desc id=\"d\">{}</desc>\
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
        let y = 56 + i * ROW;
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 8,
            y + 17,
            escape(label)
        );
        let bar = (ROW - 8) / values.len().max(1);
        for (n, value) in values.iter().enumerate() {
            let width = (*value as usize * span) / max as usize;
            let top = y + 4 + n * bar;
            svg += &format!(
                "<rect x=\"{LABEL}\" y=\"{top}\" width=\"{width}\" height=\"{}\" fill=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\">{value}</text>",
                bar.saturating_sub(1),
                colours[n % colours.len()],
                LABEL + width + 4,
                top + bar - 2,
            );
        }
    }
    svg += "</svg>";
    svg
}
