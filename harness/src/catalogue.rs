//! The requirement catalogue: the IDs, levels and texts of `docs/PROTOCOL.md`.
//!
//! Requirements are only the rows of tables headed `| ID | Level | Requirement |`; IDs named in
//! prose are explanation and are ignored. Each group (area) of requirements is the `PREFIX` of its
//! IDs, titled by the spec's `## PREFIX: title` heading.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The spec the harness was built with, so a run needs no files but the features.
pub const EMBEDDED_SPEC: &str = include_str!("../../docs/PROTOCOL.md");

/// A requirement's level (BCP 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A target that fails it does not conform.
    Must,
    /// A recommendation: reported, but failing it alone does not make a target non-conformant
    /// (unless the run is `--strict`).
    Should,
}

impl Level {
    /// `MUST` or `SHOULD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }

    /// The level a scenario tag names: `must` or `should` (without the `@`).
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag.trim_start_matches('@') {
            "must" => Some(Level::Must),
            "should" => Some(Level::Should),
            _ => None,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a requirement table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// `PREFIX-NNN`.
    pub id: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// The ID's prefix, e.g. `ENR`.
    pub area: String,
    /// The requirement's sentence, as written in the table.
    pub text: String,
}

/// A group of requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// The IDs' prefix, e.g. `ENR`.
    pub prefix: String,
    /// The heading's title, e.g. `enrollment, CSRs, certificates, ...`; the prefix when the spec
    /// has no heading for it.
    pub title: String,
}

/// Why the spec's tables cannot be read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A row's level is neither MUST nor SHOULD.
    #[error("line {line}: requirement row has level {level:?}, not MUST or SHOULD")]
    Level {
        /// 1-based line in the spec.
        line: usize,
        /// The level cell.
        level: String,
    },
    /// A row's first cell is not an ID.
    #[error("line {line}: requirement row starts with {cell:?}, not an ID like ENR-001")]
    Id {
        /// 1-based line in the spec.
        line: usize,
        /// The first cell.
        cell: String,
    },
    /// Two rows have the same ID.
    #[error("line {line}: {id} has more than one row")]
    Duplicate {
        /// 1-based line of the second row.
        line: usize,
        /// The ID.
        id: String,
    },
}

/// Every requirement of a spec, in the spec's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    areas: Vec<Area>,
    requirements: Vec<Requirement>,
    index: HashMap<String, usize>,
}

impl Catalogue {
    /// Reads the requirement tables (and the area headings) of a spec in the format of
    /// `docs/PROTOCOL.md`.
    pub fn parse(spec: &str) -> Result<Self, CatalogueError> {
        let mut titles: HashMap<String, String> = HashMap::new();
        let mut requirements: Vec<Requirement> = Vec::new();
        let mut index = HashMap::new();
        let mut in_table = false;
        for (n, line) in spec.lines().enumerate() {
            let line = line.trim();
            if let Some(heading) = line.strip_prefix("## ")
                && let Some((prefix, title)) = heading.split_once(": ")
                && !prefix.is_empty()
                && prefix.chars().all(|c| c.is_ascii_uppercase())
            {
                titles.insert(prefix.to_string(), title.trim().to_string());
            }
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() >= 3 && cells[..3] == ["ID", "Level", "Requirement"] {
                in_table = true;
                continue;
            }
            if !in_table || cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
                continue;
            }
            let number = n + 1;
            let id = cells.first().copied().unwrap_or_default();
            if !is_requirement_id(id) {
                return Err(CatalogueError::Id { line: number, cell: id.to_string() });
            }
            let level = match cells.get(1).copied() {
                Some("MUST") => Level::Must,
                Some("SHOULD") => Level::Should,
                other => {
                    return Err(CatalogueError::Level {
                        line: number,
                        level: other.unwrap_or_default().to_string(),
                    });
                }
            };
            if index.contains_key(id) {
                return Err(CatalogueError::Duplicate { line: number, id: id.to_string() });
            }
            let area = area_of(id).to_string();
            // The text may itself hold `|` inside code spans; keep every cell after the level.
            let text = cells.get(2..).map(|rest| rest.join("|")).unwrap_or_default();
            index.insert(id.to_string(), requirements.len());
            requirements.push(Requirement { id: id.to_string(), level, area, text });
        }
        let mut areas: Vec<Area> = Vec::new();
        for requirement in &requirements {
            if !areas.iter().any(|a| a.prefix == requirement.area) {
                let title =
                    titles.get(&requirement.area).cloned().unwrap_or_else(|| requirement.area.clone());
                areas.push(Area { prefix: requirement.area.clone(), title });
            }
        }
        Ok(Self { areas, requirements, index })
    }

    /// The catalogue of the spec compiled into the harness.
    pub fn embedded() -> Result<Self, CatalogueError> {
        Self::parse(EMBEDDED_SPEC)
    }

    /// Every requirement, in the spec's order.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The areas, in the order their first requirement appears.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// The requirement with this ID.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.index.get(id).and_then(|&i| self.requirements.get(i))
    }

    /// The level of the requirement with this ID.
    pub fn level(&self, id: &str) -> Option<Level> {
        self.get(id).map(|r| r.level)
    }

    /// How many requirements there are.
    pub fn len(&self) -> usize {
        self.requirements.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// Whether `text` is a requirement ID: upper-case letters, `-`, three digits.
pub fn is_requirement_id(text: &str) -> bool {
    let Some((prefix, number)) = text.split_once('-') else { return false };
    !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_uppercase())
        && number.len() == 3
        && number.chars().all(|c| c.is_ascii_digit())
}

/// The area (prefix) of an ID: `ENR` for `ENR-001`.
pub fn area_of(id: &str) -> &str {
    id.split_once('-').map_or(id, |(prefix, _)| prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_requirement_tables_only() {
        let spec = "## ENR: enrollment\n\nSee ENR-009 in prose.\n\n| ID | Level | Requirement |\n| --- | --- | --- |\n| ENR-001 | MUST | A `a|b` thing. |\n| ENR-002 | SHOULD | Another. |\n\n| Other | Table |\n| --- | --- |\n| ENR-003 | MUST |\n";
        let catalogue = Catalogue::parse(spec).expect("a well-formed spec");
        let ids: Vec<(&str, Level, &str)> =
            catalogue.requirements().iter().map(|r| (r.id.as_str(), r.level, r.text.as_str())).collect();
        assert_eq!(ids, [("ENR-001", Level::Must, "A `a|b` thing."), ("ENR-002", Level::Should, "Another.")]);
        assert_eq!(catalogue.areas(), [Area { prefix: "ENR".into(), title: "enrollment".into() }]);
        assert_eq!(catalogue.level("ENR-002"), Some(Level::Should));
        assert_eq!(catalogue.get("ENR-009"), None);
    }

    #[test]
    fn broken_rows_are_errors_with_their_line() {
        let head = "| ID | Level | Requirement |\n| --- | --- | --- |\n";
        let cases = [
            (
                format!("{head}| ENR-001 | MAY | x |\n"),
                CatalogueError::Level { line: 3, level: "MAY".into() },
            ),
            (format!("{head}| enr-1 | MUST | x |\n"), CatalogueError::Id { line: 3, cell: "enr-1".into() }),
            (
                format!("{head}| ENR-001 | MUST | x |\n| ENR-001 | MUST | y |\n"),
                CatalogueError::Duplicate { line: 4, id: "ENR-001".into() },
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(Catalogue::parse(&spec), Err(expected));
        }
    }
}
