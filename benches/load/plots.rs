//! The report's charts: grouped bars (latency percentiles per scenario), stacked bars
//! (per-stage breakdown) and lines (throughput against concurrency, RSS over time).

use super::svg::{Frame, PALETTE, Scale, label};

/// One named series of values.
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// One value per category (bars) or one point per x (lines).
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series of bar values, one per category in order.
    pub fn bars(name: &str, values: impl IntoIterator<Item = f64>) -> Self {
        Self {
            name: name.to_string(),
            points: values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i as f64, v))
                .collect(),
        }
    }
}

/// Bars of each series side by side per category, on a logarithmic or linear axis.
pub fn grouped_bars(
    title: &str,
    y_name: &str,
    categories: &[String],
    series: &[Series],
    log: bool,
) -> String {
    let width = 260.0 + 90.0 * categories.len() as f64;
    let mut frame = Frame::new(width, 460.0, title, 140.0);
    let (left, top, right, bottom) = frame.area;
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .collect();
    let scale = Scale::covering(&values, log, bottom, top);
    frame.y_axis(&scale, y_name);
    let slot = (right - left) / categories.len().max(1) as f64;
    let bar = slot * 0.8 / series.len().max(1) as f64;
    for (c, category) in categories.iter().enumerate() {
        let x0 = left + slot * c as f64 + slot * 0.1;
        for (s, one) in series.iter().enumerate() {
            let value = one.points.get(c).map_or(f64::NAN, |p| p.1);
            if value.is_finite() {
                let y = scale.px(value);
                let x = x0 + bar * s as f64;
                frame
                    .svg
                    .rect(x, y, bar - 1.0, bottom - y, PALETTE[s % PALETTE.len()]);
            }
        }
        category_label(&mut frame, left + slot * (c as f64 + 0.5), bottom, category);
    }
    frame.legend(&names(series));
    frame.finish()
}

/// One bar per category, stacked from the parts of each series (a series per part), with
/// `labels[c]` written above bar `c`.
pub fn stacked_bars(
    title: &str,
    y_name: &str,
    categories: &[String],
    parts: &[Series],
    labels: &[String],
) -> String {
    let width = 300.0 + 90.0 * categories.len() as f64;
    let mut frame = Frame::new(width, 460.0, title, 140.0);
    let (left, top, right, bottom) = frame.area;
    let totals: Vec<f64> = (0..categories.len())
        .map(|c| {
            parts
                .iter()
                .filter_map(|p| p.points.get(c))
                .map(|p| p.1)
                .sum()
        })
        .collect();
    let scale = Scale::covering(&totals, false, bottom, top);
    frame.y_axis(&scale, y_name);
    let slot = (right - left) / categories.len().max(1) as f64;
    for (c, category) in categories.iter().enumerate() {
        let x = left + slot * c as f64 + slot * 0.2;
        let mut base = 0.0;
        for (p, part) in parts.iter().enumerate() {
            let value = part.points.get(c).map_or(0.0, |p| p.1);
            if value > 0.0 {
                let (y_low, y_high) = (scale.px(base), scale.px(base + value));
                frame.svg.rect(
                    x,
                    y_high,
                    slot * 0.6,
                    y_low - y_high,
                    PALETTE[p % PALETTE.len()],
                );
                base += value;
            }
        }
        let y = scale.px(totals[c]) - 4.0;
        let text = labels.get(c).map_or("", String::as_str);
        frame
            .svg
            .text((x + slot * 0.3, y), 10, "middle", false, text);
        category_label(&mut frame, left + slot * (c as f64 + 0.5), bottom, category);
    }
    frame.legend(&names(parts));
    frame.finish()
}

/// Lines through each series' points; `log_x` puts x on a logarithmic axis; `dashed`
/// series (reference levels) are drawn dashed without dots.
pub fn lines(
    title: &str,
    x_name: &str,
    y_name: &str,
    series: &[Series],
    dashed: &[Series],
    log_x: bool,
) -> String {
    let mut frame = Frame::new(760.0, 420.0, title, 60.0);
    let (left, top, right, bottom) = frame.area;
    let all = || series.iter().chain(dashed).flat_map(|s| s.points.iter());
    let xs: Vec<f64> = all().map(|p| p.0).collect();
    let ys: Vec<f64> = all().map(|p| p.1).collect();
    let x_scale = Scale::covering(&xs, log_x, left, right);
    let y_scale = Scale::covering(&ys, false, bottom, top);
    frame.y_axis(&y_scale, y_name);
    for tick in x_scale.ticks() {
        let x = x_scale.px(tick);
        frame
            .svg
            .line((x, bottom), (x, bottom + 4.0), "#333333", false);
        frame
            .svg
            .text((x, bottom + 16.0), 11, "middle", false, &label(tick));
    }
    frame.svg.text(
        (f64::midpoint(left, right), bottom + 36.0),
        12,
        "middle",
        false,
        x_name,
    );
    let to_px = |s: &Series| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .map(|&(x, y)| (x_scale.px(x), y_scale.px(y)))
            .collect()
    };
    for (i, one) in series.iter().enumerate() {
        frame.svg.polyline(&to_px(one), PALETTE[i % PALETTE.len()]);
    }
    for (i, one) in dashed.iter().enumerate() {
        let colour = PALETTE[(series.len() + i) % PALETTE.len()];
        for pair in to_px(one).windows(2) {
            frame.svg.line(pair[0], pair[1], colour, true);
        }
    }
    let mut legend = names(series);
    legend.extend(names(dashed));
    frame.legend(&legend);
    frame.finish()
}

fn names(series: &[Series]) -> Vec<String> {
    series.iter().map(|s| s.name.clone()).collect()
}

/// A category name under the axis, turned upright to fit.
fn category_label(frame: &mut Frame, x: f64, bottom: f64, text: &str) {
    frame
        .svg
        .text((x + 4.0, bottom + 10.0), 11, "end", true, text);
}
