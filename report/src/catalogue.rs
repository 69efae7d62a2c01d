//! The requirement catalogue: the IDs, levels and texts of `docs/PROTOCOL.md`.
//!
//! Requirements are only the rows of tables headed `| ID | Level | Contract | Requirement |`; IDs
//! named in prose are explanation and are ignored. Each group (area) of requirements is the
//! `PREFIX` of its IDs, titled by the spec's `## PREFIX: title` heading. The Contract cell names the
//! wire-contract sections that fix the row (`§N` or `§N.M`, N from 0 to 9, comma-separated), or is
//! `—` for a SHOULD row that no section backs; every MUST row names at least one section.

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
    /// The wire-contract sections that fix it, as written in the Contract cell (e.g. `§3.2, §8`);
    /// `None` for `—`, which only a SHOULD row may have.
    pub contract: Option<String>,
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
    /// A MUST row names no wire-contract section (its Contract cell is empty or `—`).
    #[error("line {line}: {id} is MUST but names no wire-contract section")]
    NoContract {
        /// 1-based line in the spec.
        line: usize,
        /// The ID.
        id: String,
    },
    /// A row's Contract cell is neither `—` nor a comma-separated list of sections `§N` or `§N.M`
    /// with N from 0 to 9.
    #[error(
        "line {line}: {id} has Contract cell {cell:?}, not sections like §3.2, §8 (or — for a SHOULD row)"
    )]
    Contract {
        /// 1-based line in the spec.
        line: usize,
        /// The ID.
        id: String,
        /// The Contract cell.
        cell: String,
    },
}

/// The Contract cell of a SHOULD row that no wire-contract section backs.
pub const NO_CONTRACT: &str = "—";

/// Whether `cell` is a comma-separated list of wire-contract sections: `§N` or `§N.M`, N a single
/// digit (the contract's sections 0 to 9), M one or more digits.
pub fn is_contract_sections(cell: &str) -> bool {
    cell.split(',').all(|item| {
        let Some(section) = item.trim().strip_prefix('§') else { return false };
        let (major, minor) = match section.split_once('.') {
            Some((major, minor)) => (major, Some(minor)),
            None => (section, None),
        };
        major.len() == 1
            && major.chars().all(|c| c.is_ascii_digit())
            && minor.is_none_or(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
    })
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
            if cells.len() >= 4 && cells[..4] == ["ID", "Level", "Contract", "Requirement"] {
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
            let cell = cells.get(2).copied().unwrap_or_default();
            let contract = match cell {
                "" | NO_CONTRACT if level == Level::Must => {
                    return Err(CatalogueError::NoContract { line: number, id: id.to_string() });
                }
                NO_CONTRACT => None,
                sections if is_contract_sections(sections) => Some(sections.to_string()),
                other => {
                    return Err(CatalogueError::Contract {
                        line: number,
                        id: id.to_string(),
                        cell: other.to_string(),
                    });
                }
            };
            let area = area_of(id).to_string();
            // The text may itself hold `|` inside code spans; keep every cell after the Contract.
            let text = cells.get(3..).map(|rest| rest.join("|")).unwrap_or_default();
            index.insert(id.to_string(), requirements.len());
            requirements.push(Requirement { id: id.to_string(), level, area, contract, text });
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

    const HEAD: &str = "| ID | Level | Contract | Requirement |\n| --- | --- | --- | --- |\n";

    #[test]
    fn rows_of_requirement_tables_only() {
        let spec = "## ENR: enrollment\n\nSee ENR-009 in prose.\n\n| ID | Level | Contract | Requirement |\n| --- | --- | --- | --- |\n| ENR-001 | MUST | §3.1, §8 | A `a|b` thing. |\n| ENR-002 | SHOULD | — | Another. |\n| ENR-004 | SHOULD | §0 | A third. |\n\n| ID | Level | Requirement |\n| --- | --- | --- |\n| ENR-003 | MUST | an old three-column table is not a requirement table |\n\n| Other | Table |\n| --- | --- |\n| ENR-005 | MUST |\n";
        let catalogue = Catalogue::parse(spec).expect("a well-formed spec");
        let rows: Vec<(&str, Level, Option<&str>, &str)> = catalogue
            .requirements()
            .iter()
            .map(|r| (r.id.as_str(), r.level, r.contract.as_deref(), r.text.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("ENR-001", Level::Must, Some("§3.1, §8"), "A `a|b` thing."),
                ("ENR-002", Level::Should, None, "Another."),
                ("ENR-004", Level::Should, Some("§0"), "A third."),
            ]
        );
        assert_eq!(catalogue.areas(), [Area { prefix: "ENR".into(), title: "enrollment".into() }]);
        assert_eq!(catalogue.level("ENR-002"), Some(Level::Should));
        assert_eq!(catalogue.get("ENR-009"), None);
        assert_eq!(catalogue.get("ENR-003"), None);
    }

    #[test]
    fn contract_cells() {
        let cases = [
            ("§0", true),
            ("§9", true),
            ("§3.2", true),
            ("§0, §3.1", true),
            ("§3.1,§8", true),
            ("§10", false),
            ("§3.", false),
            ("§.2", false),
            ("§", false),
            ("3.2", false),
            ("§3.2, ", false),
            ("RFC 6749", false),
            ("—", false),
            ("", false),
        ];
        for (cell, expected) in cases {
            assert_eq!(is_contract_sections(cell), expected, "{cell:?}");
        }
    }

    #[test]
    fn broken_rows_are_errors_with_their_line() {
        let cases = [
            (
                format!("{HEAD}| ENR-001 | MAY | §3.1 | x |\n"),
                CatalogueError::Level { line: 3, level: "MAY".into() },
            ),
            (
                format!("{HEAD}| enr-1 | MUST | §3.1 | x |\n"),
                CatalogueError::Id { line: 3, cell: "enr-1".into() },
            ),
            (
                format!("{HEAD}| ENR-001 | MUST | §3.1 | x |\n| ENR-001 | MUST | §3.1 | y |\n"),
                CatalogueError::Duplicate { line: 4, id: "ENR-001".into() },
            ),
            (
                format!("{HEAD}| ENR-001 | MUST | — | x |\n"),
                CatalogueError::NoContract { line: 3, id: "ENR-001".into() },
            ),
            (
                format!("{HEAD}| ENR-001 | SHOULD | — | x |\n| ENR-002 | MUST |  | y |\n"),
                CatalogueError::NoContract { line: 4, id: "ENR-002".into() },
            ),
            (
                format!("{HEAD}| ENR-001 | MUST | §12 | x |\n"),
                CatalogueError::Contract { line: 3, id: "ENR-001".into(), cell: "§12".into() },
            ),
            (
                format!("{HEAD}| ENR-001 | SHOULD | RFC 5280 | x |\n"),
                CatalogueError::Contract { line: 3, id: "ENR-001".into(), cell: "RFC 5280".into() },
            ),
            (
                format!("{HEAD}| ENR-001 | SHOULD |  | x |\n"),
                CatalogueError::Contract { line: 3, id: "ENR-001".into(), cell: String::new() },
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(Catalogue::parse(&spec), Err(expected));
        }
    }
}
