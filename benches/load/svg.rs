//! A minimal SVG writer: shapes, text, numeric scales and a framed plot area with axes and a
//! legend. [`super::plots`] builds the charts on it.

use std::fmt::Write;

/// Series colours, in order.
pub const PALETTE: [&str; 14] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f3a5f", "#8cd17d", "#d37295", "#499894",
];

/// An SVG document being drawn.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// An empty white canvas of `width` × `height` pixels.
    pub fn new(width: f64, height: f64) -> Self {
        let mut svg = Self {
            width,
            height,
            body: String::new(),
        };
        svg.rect(0.0, 0.0, width, height, "#ffffff");
        svg
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
            width.max(0.0),
            height.max(0.0)
        );
    }

    /// A straight line; `dashed` draws it in dashes.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str, dashed: bool) {
        let dash = if dashed {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{stroke}"{dash}/>"#,
            from.0, from.1, to.0, to.1
        );
    }

    /// A polyline through `points` with a dot on each.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str) {
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="2"/>"#,
            path.join(" ")
        );
        if points.len() <= 50 {
            for (x, y) in points {
                let _ = writeln!(
                    self.body,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{stroke}"/>"#
                );
            }
        }
    }

    /// Text at (x, y); `anchor` is `start`, `middle` or `end`; `rotate` turns it by -90°.
    pub fn text(&mut self, at: (f64, f64), size: u32, anchor: &str, rotate: bool, text: &str) {
        let transform = if rotate {
            format!(r#" transform="rotate(-90 {:.1} {:.1})""#, at.0, at.1)
        } else {
            String::new()
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{:.1}" y="{:.1}" font-size="{size}" text-anchor="{anchor}"{transform}>{}</text>"#,
            at.0,
            at.1,
            escape(text)
        );
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// `text` with the XML special characters escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A map from data values to pixels, linear or logarithmic.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    from_px: f64,
    to_px: f64,
}

impl Scale {
    /// A scale covering `values` (from 0 when linear, from the decade below the smallest
    /// positive value when `log`), drawn from pixel `from_px` to `to_px`.
    pub fn covering(values: &[f64], log: bool, from_px: f64, to_px: f64) -> Self {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let max = finite.clone().fold(0.0_f64, f64::max);
        let (lo, hi) = if log {
            let min = finite.filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
            let min = if min.is_finite() { min } else { 1.0 };
            (
                10f64.powf(min.log10().floor()),
                10f64.powf(max.max(min * 10.0).log10().ceil()),
            )
        } else {
            (0.0, nice_ceiling(max))
        };
        Self {
            lo,
            hi,
            log,
            from_px,
            to_px,
        }
    }

    /// The pixel of `value`.
    pub fn px(&self, value: f64) -> f64 {
        let share = if self.log {
            (value.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (value - self.lo) / (self.hi - self.lo)
        };
        self.from_px + share.clamp(0.0, 1.0) * (self.to_px - self.from_px)
    }

    /// Tick values: decades when logarithmic, five steps when linear.
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (a, b) = (self.lo.log10() as i32, self.hi.log10() as i32);
            (a..=b).map(|e| 10f64.powi(e)).collect()
        } else {
            (0..=5)
                .map(|i| self.lo + (self.hi - self.lo) * f64::from(i) / 5.0)
                .collect()
        }
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value` (1 for nothing).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let decade = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|v| *v >= value * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// A tick label: no decimals from 10 up, otherwise up to three significant decimals.
pub fn label(value: f64) -> String {
    if value.abs() >= 10.0 || value == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A chart canvas: title, a plot area inside margins, a vertical axis and a legend.
pub struct Frame {
    /// The drawing.
    pub svg: Svg,
    /// Plot area: left, top, right, bottom pixels.
    pub area: (f64, f64, f64, f64),
}

impl Frame {
    /// A `width` × `height` canvas titled `title`, its plot area leaving `bottom` pixels
    /// below for category labels.
    pub fn new(width: f64, height: f64, title: &str, bottom: f64) -> Self {
        let mut svg = Svg::new(width, height);
        svg.text((width / 2.0, 24.0), 16, "middle", false, title);
        Self {
            svg,
            area: (80.0, 44.0, width - 190.0, height - bottom),
        }
    }

    /// Draws the vertical axis of `scale` with grid lines, labelled `name`.
    pub fn y_axis(&mut self, scale: &Scale, name: &str) {
        let (left, top, right, bottom) = self.area;
        for tick in scale.ticks() {
            let y = scale.px(tick);
            self.svg.line((left, y), (right, y), "#dddddd", false);
            self.svg
                .text((left - 6.0, y + 4.0), 11, "end", false, &label(tick));
        }
        self.svg.line((left, top), (left, bottom), "#333333", false);
        self.svg
            .line((left, bottom), (right, bottom), "#333333", false);
        let middle = f64::midpoint(top, bottom);
        self.svg.text((20.0, middle), 12, "middle", true, name);
    }

    /// A legend of `names` in palette order, right of the plot area.
    pub fn legend(&mut self, names: &[String]) {
        let x = self.area.2 + 16.0;
        for (i, name) in names.iter().enumerate() {
            let y = self.area.1 + 8.0 + i as f64 * 18.0;
            self.svg
                .rect(x, y - 9.0, 12.0, 12.0, PALETTE[i % PALETTE.len()]);
            self.svg.text((x + 18.0, y + 1.0), 12, "start", false, name);
        }
    }

    /// The finished document.
    pub fn finish(self) -> String {
        self.svg.finish()
    }
}
