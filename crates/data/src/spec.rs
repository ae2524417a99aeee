//! What the model expects of its data: the sizes and data declarations, in this crate's own
//! terms (the caller converts the compiler's declarations into these).

use std::fmt;

/// Everything a model declares about its data, in declaration order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataSpec {
    /// The `size` declarations.
    pub sizes: Vec<SizeDecl>,
    /// The `data` declarations.
    pub variables: Vec<DataDecl>,
}

/// `size N`, `size N by subjID` or `size K = max(choice)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeDecl {
    /// The size's name, `N`.
    pub name: String,
    /// The CSV column whose distinct values are the groups counted by this size, `subjID`.
    pub group_by: Option<String>,
    /// The variable whose largest value is this size, where nothing else in
    /// the file gives it.
    pub largest_of: Option<LargestOf>,
    /// `size L = 3`: the value where nothing in the file gives the size (a
    /// setting of the model, hBayesDM's number of levels `L`); the file may set
    /// it by a JSON key, a CSV column of one value or the lengths of its arrays.
    pub default: Option<usize>,
    /// The value the caller gives the size apart from the file ([`crate::set_apart`],
    /// `--set L=4`): the file's key or column of this name is not read.
    pub given: Option<usize>,
}

/// `= max(choice) + plus` in a size declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LargestOf {
    /// An int variable of the spec, whose shape does not name this size.
    pub variable: String,
    pub plus: i64,
}

/// The element type of a data variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// `int`: stored exactly as an `f64` (values beyond ±2^53 are rejected).
    Int,
    /// `real`.
    Real,
    /// `bool`: stored as `0.0` or `1.0`.
    Bool,
}

/// One dimension of a data variable's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DimSpec {
    /// A declared size, `T`.
    Size(String),
    /// A constant, `2`.
    Const(usize),
    /// Any other linear size expression, `L - 1`, `2*K + 1`: `constant + Σ coefficient ×
    /// size`. A length found along it determines a size it names when the others are known.
    Linear {
        constant: i64,
        terms: Vec<(i64, String)>,
    },
}

impl DimSpec {
    /// The value for the sizes `size_of` knows, `None` while one is unknown (or on
    /// overflow). May be negative.
    pub fn eval(&self, size_of: impl Fn(&str) -> Option<usize>) -> Option<i64> {
        match self {
            DimSpec::Const(n) => i64::try_from(*n).ok(),
            DimSpec::Size(name) => size_of(name).and_then(|v| i64::try_from(v).ok()),
            DimSpec::Linear { constant, terms } => {
                terms
                    .iter()
                    .try_fold(*constant, |total, (coefficient, name)| {
                        let value = i64::try_from(size_of(name)?).ok()?;
                        total.checked_add(coefficient.checked_mul(value)?)
                    })
            }
        }
    }

    /// The sizes the dimension names, each with its coefficient.
    pub fn terms(&self) -> Vec<(i64, &str)> {
        match self {
            DimSpec::Const(_) => Vec::new(),
            DimSpec::Size(name) => vec![(1, name.as_str())],
            DimSpec::Linear { terms, .. } => {
                terms.iter().map(|(c, name)| (*c, name.as_str())).collect()
            }
        }
    }

    /// The constant part (`-1` of `L - 1`).
    pub fn constant(&self) -> i64 {
        match self {
            DimSpec::Const(n) => i64::try_from(*n).unwrap_or(i64::MAX),
            DimSpec::Size(_) => 0,
            DimSpec::Linear { constant, .. } => *constant,
        }
    }
}

/// The interval a real data variable's values lie in: `[0, inf)` has
/// `lo: 0, lo_closed: true, hi: inf, hi_closed: false`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RealBounds {
    pub lo: f64,
    pub hi: f64,
    /// `[`: `lo` itself is allowed.
    pub lo_closed: bool,
    /// `]`: `hi` itself is allowed.
    pub hi_closed: bool,
}

impl RealBounds {
    /// The open interval `(lo, hi)`.
    pub fn open(lo: f64, hi: f64) -> Self {
        RealBounds {
            lo,
            hi,
            lo_closed: false,
            hi_closed: false,
        }
    }

    pub fn contains(&self, v: f64) -> bool {
        let above = if self.lo_closed {
            self.lo <= v
        } else {
            self.lo < v
        };
        let below = if self.hi_closed {
            v <= self.hi
        } else {
            v < self.hi
        };
        above && below
    }

    /// Which ends the interval includes, in words: "0 included, inf excluded".
    pub fn ends_in_words(&self) -> String {
        let end = |closed: bool| if closed { "included" } else { "excluded" };
        match (self.lo_closed, self.hi_closed) {
            (false, false) => "the bounds are excluded".to_string(),
            (true, true) => "the bounds are included".to_string(),
            _ => format!(
                "{} {}, {} {}",
                self.lo,
                end(self.lo_closed),
                self.hi,
                end(self.hi_closed)
            ),
        }
    }
}

/// `(0, inf)`, `[0, 1]`, as a model writes them.
impl fmt::Display for RealBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}, {}{}",
            if self.lo_closed { '[' } else { '(' },
            self.lo,
            self.hi,
            if self.hi_closed { ']' } else { ')' }
        )
    }
}

/// `data choice: int?[N, T] in 1..3`.
#[derive(Clone, Debug, PartialEq)]
pub struct DataDecl {
    /// The variable's name, which is also its JSON key and its CSV column.
    pub name: String,
    /// The element type.
    pub elem: ElemType,
    /// Whether cells may be missing (`int?`).
    pub optional: bool,
    /// The dimensions, outermost first; empty for a scalar.
    pub shape: Vec<DimSpec>,
    /// `in LO..HI` on an `int`: every present value `v` has `LO <= v < HI`.
    pub int_range: Option<(i64, i64)>,
    /// `in (LO, HI)`, `in [LO, HI)`, … on a `real`: every present value lies in it.
    pub real_bounds: Option<RealBounds>,
    /// When the file lacks the variable (no column, no key), every cell it
    /// would have is read as this value instead of failing: a variable the
    /// caller will simulate. CSV cells past a short group's end stay missing.
    pub absent_fill: Option<f64>,
    /// `data k: real = 0.1`, `data mu0: real[2] = [0.5, 1.0]`: the model's cells
    /// (row-major; one for a scalar) for a setting the file leaves out (hBayesDM's
    /// `RTbound`, `mu0`); the loader notes when it is used.
    pub default: Option<Vec<f64>>,
    /// The lengths of the default's axes (`[2]` for `[0.5, 1.0]`; empty for a
    /// scalar): an array sized by a size with a default (`real[L - 1]`) checks them
    /// against its dimensions once the sizes are known.
    pub default_shape: Vec<usize>,
    /// The cells (row-major) the caller gives the variable apart from the file
    /// ([`crate::set_apart`]; the command line's `--set NAME=VALUE`): the file's
    /// column or key of this name is not read.
    pub given: Option<Vec<f64>>,
    /// The lengths of the given value's axes, as `default_shape`.
    pub given_shape: Vec<usize>,
}

impl SizeDecl {
    /// `size T`.
    pub fn new(name: &str) -> Self {
        SizeDecl {
            name: name.to_string(),
            group_by: None,
            largest_of: None,
            default: None,
            given: None,
        }
    }

    /// `size N by COLUMN`.
    pub fn grouped_by(name: &str, column: &str) -> Self {
        SizeDecl {
            group_by: Some(column.to_string()),
            ..SizeDecl::new(name)
        }
    }

    /// `size NAME = default`.
    pub fn with_default(name: &str, default: usize) -> Self {
        SizeDecl {
            default: Some(default),
            ..SizeDecl::new(name)
        }
    }

    /// `size K = max(VARIABLE) + plus`.
    pub fn largest_of(name: &str, variable: &str, plus: i64) -> Self {
        SizeDecl {
            largest_of: Some(LargestOf {
                variable: variable.to_string(),
                plus,
            }),
            ..SizeDecl::new(name)
        }
    }
}

impl DataDecl {
    /// A data declaration with no range or bounds; `shape` lists size names.
    pub fn new(name: &str, elem: ElemType, optional: bool, shape: &[&str]) -> Self {
        DataDecl {
            name: name.to_string(),
            elem,
            optional,
            shape: shape.iter().map(|s| DimSpec::Size(s.to_string())).collect(),
            int_range: None,
            real_bounds: None,
            absent_fill: None,
            default: None,
            default_shape: Vec::new(),
            given: None,
            given_shape: Vec::new(),
        }
    }

    /// What every cell reads as when the file lacks the variable: a scalar's
    /// default, else the caller's fill; `None`: its absence is an error, or an
    /// array's default gives its cells one by one (`array_default`).
    pub fn value_when_absent(&self) -> Option<f64> {
        match &self.default {
            Some(cells) if self.shape.is_empty() => cells.first().copied(),
            Some(_) => None,
            None => self.absent_fill,
        }
    }

    /// The cells of an array's default (`data mu0: real[2] = [0.5, 1.0]`), which a
    /// file that leaves the array out gives it.
    pub fn array_default(&self) -> Option<&[f64]> {
        self.default.as_deref().filter(|_| !self.shape.is_empty())
    }

    /// The CSV columns of an array setting's elements, as rlc's output names
    /// them (`mu0.1`, `mu0.2`; `w.1.2` for row 1, column 2), for the lengths of
    /// its constant dimensions, or of its default where a size gives one.
    pub fn element_columns(&self) -> Vec<String> {
        let lengths: Vec<usize> = self
            .shape
            .iter()
            .enumerate()
            .map(|(axis, dim)| match dim {
                DimSpec::Const(n) => *n,
                _ => self.default_shape.get(axis).copied().unwrap_or(0),
            })
            .collect();
        element_names(&self.name, &lengths)
    }

    /// The 0-based index of the element whose CSV column is `column` (`mu0.3` is
    /// `[2]` of `mu0`), whatever the array's lengths: `None` for another column.
    pub fn element_of_column(&self, column: &str) -> Option<Vec<usize>> {
        let rest = column.strip_prefix(self.name.as_str())?.strip_prefix('.')?;
        let index: Vec<usize> = rest
            .split('.')
            .map(|part| {
                let one_based: usize = part.parse().ok()?;
                (part == one_based.to_string()).then(|| one_based.checked_sub(1))?
            })
            .collect::<Option<_>>()?;
        (!self.shape.is_empty() && index.len() == self.shape.len()).then_some(index)
    }

    /// The dimensions of a declaration every one of whose dimensions is a
    /// constant (`real[2, 3]`), `None` where a size names one.
    pub fn constant_shape(&self) -> Option<Vec<usize>> {
        self.shape
            .iter()
            .map(|dim| match dim {
                DimSpec::Const(n) => Some(*n),
                _ => None,
            })
            .collect()
    }

    /// The default as the model writes it: `0.1`, `true`, `[0.5, 1]`.
    pub fn default_text(&self) -> String {
        let cells = self.default.as_deref().unwrap_or_default();
        nested_text(
            cells,
            &self.lengths_of(&self.default_shape),
            self.elem == ElemType::Bool,
        )
    }

    /// The value set apart from the file, written as a default is.
    pub fn given_text(&self) -> String {
        let cells = self.given.as_deref().unwrap_or_default();
        nested_text(
            cells,
            &self.lengths_of(&self.given_shape),
            self.elem == ElemType::Bool,
        )
    }

    /// The lengths of a value's axes: `recorded` where they were recorded, else
    /// the constant dimensions (1 for another).
    fn lengths_of(&self, recorded: &[usize]) -> Vec<usize> {
        if recorded.len() == self.shape.len() {
            return recorded.to_vec();
        }
        self.shape
            .iter()
            .map(|dim| match dim {
                DimSpec::Const(n) => *n,
                _ => 1,
            })
            .collect()
    }

    /// The same declaration with `in LO..HI`.
    pub fn with_int_range(mut self, lo: i64, hi: i64) -> Self {
        self.int_range = Some((lo, hi));
        self
    }

    /// Whether `v` lies in the declared range (`in LO..HI`, of an integer
    /// value) or interval (`in [0, inf)`); true when none is declared.
    pub fn admits(&self, v: f64) -> bool {
        match (self.int_range, self.real_bounds) {
            // Compared in i128 so that no bound loses precision; a value
            // that is not an integer is no integer range's.
            (Some((lo, hi)), _) => {
                v.fract() == 0.0 && (i128::from(lo) <= v as i128 && (v as i128) < i128::from(hi))
            }
            (None, Some(bounds)) => bounds.contains(v),
            (None, None) => true,
        }
    }

    /// The same declaration with `in (LO, HI)` or another interval.
    pub fn with_real_bounds(mut self, bounds: RealBounds) -> Self {
        self.real_bounds = Some(bounds);
        self
    }
}

impl fmt::Display for SizeDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "size {}", self.name)?;
        if let Some(column) = &self.group_by {
            write!(f, " by {column}")?;
        }
        if let Some(largest) = &self.largest_of {
            write!(f, " = max({})", largest.variable)?;
            if largest.plus != 0 {
                write!(f, " + {}", largest.plus)?;
            }
        }
        if let Some(default) = self.default {
            write!(f, " = {default}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElemType::Int => "int",
            ElemType::Real => "real",
            ElemType::Bool => "bool",
        })
    }
}

impl fmt::Display for DimSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DimSpec::Size(name) => f.write_str(name),
            DimSpec::Const(n) => write!(f, "{n}"),
            DimSpec::Linear { constant, terms } => {
                for (i, (coefficient, name)) in terms.iter().enumerate() {
                    let magnitude = coefficient.unsigned_abs();
                    match (i, *coefficient < 0) {
                        (0, false) => {}
                        (0, true) => f.write_str("-")?,
                        (_, false) => f.write_str(" + ")?,
                        (_, true) => f.write_str(" - ")?,
                    }
                    if magnitude != 1 {
                        write!(f, "{magnitude}*")?;
                    }
                    f.write_str(name)?;
                }
                match (terms.is_empty(), constant.signum()) {
                    (true, _) => write!(f, "{constant}"),
                    (false, 1) => write!(f, " + {constant}"),
                    (false, -1) => write!(f, " - {}", constant.unsigned_abs()),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// The declaration as written in a model: `data choice: int?[N, T] in 1..3`.
impl fmt::Display for DataDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data {}: {}", self.name, self.elem)?;
        if self.optional {
            f.write_str("?")?;
        }
        if !self.shape.is_empty() {
            f.write_str("[")?;
            for (i, dim) in self.shape.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{dim}")?;
            }
            f.write_str("]")?;
        }
        if let Some((lo, hi)) = self.int_range {
            write!(f, " in {lo}..{hi}")?;
        }
        if let Some(bounds) = self.real_bounds {
            write!(f, " in {bounds}")?;
        }
        Ok(())
    }
}

/// Cells (row-major) written as nested brackets of the given axis lengths.
fn nested_text(cells: &[f64], lengths: &[usize], bool_type: bool) -> String {
    let Some((&first, inner)) = lengths.split_first() else {
        return match cells.first() {
            Some(v) if bool_type => (*v != 0.0).to_string(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
    };
    let width = (cells.len() / first.max(1)).max(1);
    let items: Vec<String> = cells
        .chunks(width)
        .map(|row| nested_text(row, inner, bool_type))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The index (0-based, outermost axis first) of the `flat`-th element, row-major, of
/// an array of `lengths`.
pub(crate) fn unravel(mut flat: usize, lengths: &[usize]) -> Vec<usize> {
    let mut index = vec![0; lengths.len()];
    for (i, &n) in lengths.iter().enumerate().rev() {
        let n = n.max(1);
        index[i] = flat % n;
        flat /= n;
    }
    index
}

/// The names of an array's elements as rlc's output (and an array setting's CSV
/// columns) write them, row-major: `mu0.1`, `mu0.2`; `w.1.2` for row 1, column 2;
/// a scalar's own name.
pub fn element_names(name: &str, shape: &[usize]) -> Vec<String> {
    let mut names = vec![name.to_string()];
    for &n in shape {
        names = names
            .iter()
            .flat_map(|prefix| (1..=n).map(move |i| format!("{prefix}.{i}")))
            .collect();
    }
    names
}
