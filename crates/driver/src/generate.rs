//! The model run forward (see `rlc_ir::lower::generative`): simulated data
//! sets from given or prior-drawn parameters, posterior predictive draws,
//! and the pointwise log-likelihood of the observations, all from the one
//! model file. Draws use a ChaCha stream of the caller's seed, so a seed
//! fixes every simulated value.

use crate::compile::Compiled;
use crate::data::Data;
use crate::density::{self, EvalFailure, Evaluator};
use crate::error::{Error, ErrorDetail, ErrorKind, ModelReport};
use crate::point::Point;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlc_check::model::SymbolKind;
use rlc_data::{DataArray, LoadedData};
use rlc_ir::interp::EvalError;
use rlc_ir::{Channel, GenerativeIr, GenerativeOptions, ParamSource};
use std::collections::HashMap;

pub use rlc_ir::ObservedLayout;

/// The random stream of a simulation with `seed` (stream `stream`: chains
/// and data sets get their own).
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Lowers the generative function of a compiled model; a model that cannot
/// run forward (or, when nothing is drawn, cannot be scored pointwise) is a
/// model error (E0191) pointing at the reason.
pub fn generative(compiled: &Compiled, options: GenerativeOptions) -> Result<GenerativeIr, Error> {
    let ir = rlc_ir::lower_generative(&compiled.model, options).map_err(|e| {
        let (headline, summary) = if options.draw {
            ("this model cannot be run forward", "cannot be run forward")
        } else {
            (
                "this model's pointwise log-likelihood cannot be computed",
                "cannot be scored pointwise",
            )
        };
        let diagnostic = rlc_syntax::Diagnostic::error(
            "E0191",
            format!("{headline}: {}", trim_reason(&e.message)),
        )
        .with_label(rlc_syntax::Label::primary(e.span, "here"));
        Error {
            kind: ErrorKind::Model,
            message: format!("error: {} {summary}", compiled.name),
            detail: ErrorDetail::Model(Box::new(ModelReport {
                name: compiled.name.clone(),
                source: compiled.source.clone(),
                diagnostics: vec![diagnostic],
            })),
        }
    })?;
    if ir.observed.is_empty() {
        return Err(Error::new(
            ErrorKind::Model,
            format!(
                "error: {} observes no data with `~`, so there is nothing to simulate, predict or score pointwise: rlc runs a model forward by drawing the left side of each `~` on data (a `target +=` cannot be run forward)",
                compiled.name
            ),
        ));
    }
    Ok(ir)
}

fn trim_reason(message: &str) -> &str {
    message
        .strip_prefix("this model cannot be run forward: ")
        .unwrap_or(message)
}

/// What the pointwise log-likelihood leaves out, as notes: the data its
/// `target +=` statements score are in the log density, not in `log_lik`,
/// so PSIS-LOO does not see them.
pub fn log_lik_notes(compiled: &Compiled) -> Vec<String> {
    target_notes(
        compiled,
        "not to the pointwise log-likelihood: `log_lik` and PSIS-LOO leave out what it scores (write observed data as `y ~ …` to have it scored)",
    )
}

/// What running the model forward leaves out, as notes: its `target +=`
/// statements, which add to the log density but do not say how data arise, and
/// the choices of its `~ Wiener(…)` without `upper`, which are the design's.
pub fn forward_notes(compiled: &Compiled) -> Vec<String> {
    let mut notes = target_notes(
        compiled,
        "says nothing of how data arise; running the model forward ignores it (write a prior on the parameter's declaration, and data as `y ~ …`, to simulate them)",
    );
    // `Wiener` is the density of the time *and* the boundary: drawn given a boundary
    // the design names, the data sets are not the model's, and a recovery study of
    // them is miscalibrated without saying why.
    let wiener: Vec<String> = rlc_ir::lower::wiener_observations(&compiled.model)
        .into_iter()
        .map(|span| compiled.locate((span.start, span.end)))
        .collect();
    if !wiener.is_empty() {
        notes.push(format!(
            "{} draw{} each response time given the upper boundary of its `Wiener` (the boundary of the trial's choice): the choices are the design's, not drawn, so the simulated data are not draws of the model's (choice, time) pairs, and a recovery study of its drift, boundary and bias is not calibrated; name the boundary of each response in one `~` (`rt ~ Wiener(alpha, tau, beta, delta, upper = choice - 1)` for choices coded 1 and 2) to draw both",
            wiener.join(" and "),
            if wiener.len() == 1 { "s" } else { "" }
        ));
    }
    notes
}

/// One note per `target +=` statement: `FILE:LINE:COL (…) adds to the log
/// density but {what}`.
fn target_notes(compiled: &Compiled, what: &str) -> Vec<String> {
    rlc_ir::lower::target_statements(&compiled.model)
        .into_iter()
        .map(|span| {
            format!(
                "{} adds to the log density but {what}",
                compiled.locate((span.start, span.end))
            )
        })
        .collect()
}

/// The names of the data variables a model observes with `~` (those a
/// simulation draws, and a design file may leave out), and those a `~` on a
/// value computed from them scores (which a simulation refuses to draw).
pub fn observed_variables(compiled: &Compiled) -> Result<Vec<String>, Error> {
    let options = GenerativeOptions {
        params: ParamSource::Theta,
        draw: false,
        write_back: false,
        log_lik: true,
    };
    Ok(generative(compiled, options)?
        .observed
        .into_iter()
        .map(|o| o.name)
        .collect())
}

/// A generative function bound to its data.
#[derive(Clone)]
pub struct BoundGenerative {
    evaluator: Evaluator,
    pub observed: Vec<ObservedLayout>,
    pub options: GenerativeOptions,
    /// The concrete shape of each observed variable.
    pub observed_shapes: Vec<Vec<usize>>,
    /// The parameters' and `out` values' element counts, in output order.
    value_counts: Vec<usize>,
    /// Where each value comes from in the model, for draw errors.
    locations: HashMap<rlc_ir::ValueId, String>,
}

/// One run of a generative function.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerativeRun {
    /// The parameters (constrained) then the `out` values, each row-major.
    pub values: Vec<Vec<f64>>,
    /// For each observed variable, its channels in the options' order.
    pub observed: Vec<Vec<Vec<f64>>>,
}

impl BoundGenerative {
    pub fn new(
        compiled: &Compiled,
        ir: &GenerativeIr,
        data: &Data,
    ) -> Result<BoundGenerative, Error> {
        let dim = density::dimension(compiled, data)?;
        let mut notes = Vec::new();
        let evaluator = Evaluator::new(
            compiled,
            &ir.function,
            data,
            dim,
            crate::Backend::Jit,
            1,
            &mut notes,
        )?;
        let eval_shape = |shape: &[rlc_ir::Dim]| -> Vec<usize> {
            shape
                .iter()
                .map(|d| d.eval(&data.sizes).unwrap_or(0).max(0) as usize)
                .collect()
        };
        let value_counts = compiled
            .ir
            .params
            .iter()
            .map(|p| eval_shape(&p.shape).iter().product())
            .chain(
                ir.outs
                    .iter()
                    .map(|o| eval_shape(&o.ty.shape).iter().product()),
            )
            .collect();
        let locations = ir
            .function
            .spans
            .iter()
            .map(|(v, span)| (*v, compiled.locate(*span)))
            .collect();
        Ok(BoundGenerative {
            evaluator,
            observed_shapes: ir
                .observed
                .iter()
                .map(|o| eval_shape(&o.ty.shape))
                .collect(),
            observed: ir.observed.clone(),
            options: ir.options,
            value_counts,
            locations,
        })
    }

    /// Runs the function at `theta` (ignored when parameters come from the
    /// prior), drawing from `rng`.
    pub fn run(&mut self, theta: &[f64], rng: &mut ChaCha8Rng) -> Result<GenerativeRun, Error> {
        let locations = &self.locations;
        // A prior whose truncation depends on other parameters is drawn by
        // drawing the whole prior again until every draw is inside its bounds.
        let mut rejected = 0;
        // A copy of the random source, to run a failed draw again and locate its error.
        let mut before = rng.clone();
        loop {
            before.clone_from(rng);
            let e = match self.evaluator.call_random(theta, rng) {
                Ok(_) => break,
                Err(EvalFailure::Interp(EvalError::Rejected { value })) => {
                    rejected += 1;
                    if rejected >= JOINT_PRIOR_TRIES {
                        let at = locations
                            .get(&value)
                            .map(|at| format!("at {at}: "))
                            .unwrap_or_default();
                        return Err(Error::sampling(format!(
                            "error: running the model forward: {at}no joint draw of the priors in {JOINT_PRIOR_TRIES} put every parameter inside its bounds: this prior is truncated by bounds, or has arguments, that depend on other parameters, so the model's prior is the product of the priors cut to the bounds (not renormalized, as the density is), and it is drawn by drawing every parameter again until all fall inside. Draws that rarely do mean the model's prior is far from the priors as written: reparameterize (a non-centered `x = mu + sigma * z`, or a transform such as `Phi_approx`), or give the parameters' values with --at"
                        )));
                    }
                    continue;
                }
                Err(e) => e,
            };
            let message = match &e {
                EvalFailure::Interp(
                    EvalError::Draw { value, .. } | EvalError::Truncation { value, .. },
                ) => match locations.get(value) {
                    Some(at) => format!("at {at}: {e}"),
                    None => e.to_string(),
                },
                failure if failure.is_index_error() => {
                    let value = self.evaluator.failing_value_random(theta, &mut before);
                    match value.and_then(|v| locations.get(&v)) {
                        Some(at) => format!(
                            "at {at}: {e} (check the data's values against the model's indexing)"
                        ),
                        None => e.to_string(),
                    }
                }
                _ => e.to_string(),
            };
            return Err(Error::sampling(format!(
                "error: running the model forward: {message}"
            )));
        }
        let results = self.evaluator.last_results();
        let mut k = 0;
        let mut values = Vec::with_capacity(self.value_counts.len());
        for _ in &self.value_counts {
            values.push(results.get(k).map(|r| r.to_vec()).unwrap_or_default());
            k += 1;
        }
        let mut observed = Vec::with_capacity(self.observed.len());
        for o in &self.observed {
            let mut channels = Vec::with_capacity(o.channels.len());
            for _ in &o.channels {
                channels.push(results.get(k).map(|r| r.to_vec()).unwrap_or_default());
                k += 1;
            }
            observed.push(channels);
        }
        Ok(GenerativeRun { values, observed })
    }

    /// The values of `channel` of observed variable `index` in `run`.
    pub fn channel<'r>(
        &self,
        run: &'r GenerativeRun,
        index: usize,
        channel: Channel,
    ) -> Option<&'r [f64]> {
        let k = self
            .observed
            .get(index)?
            .channels
            .iter()
            .position(|c| *c == channel)?;
        run.observed.get(index)?.get(k).map(|v| v.as_slice())
    }
}

/// How many times the whole prior is drawn again, at most, for one joint draw
/// of priors whose truncation depends on other parameters.
pub const JOINT_PRIOR_TRIES: usize = 100_000;

/// Where a simulation's parameters come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValues {
    /// Given values (`--at`, a JSON file, or unconstrained coordinates).
    Point(Point),
    /// Drawn from the priors.
    Prior,
}

/// A named array: its name, its shape and its values, row-major.
pub type NamedArray = (String, Vec<usize>, Vec<f64>);

/// A simulated data set.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// The parameters (constrained, given or drawn) and `out` values, by name,
    /// with their shapes and row-major values: the data set's "truth".
    pub truth: Vec<NamedArray>,
    /// The design's data with every observed variable replaced by its draws
    /// (missing where the design has no cell or nothing was drawn).
    pub data: LoadedData,
    /// The observed variables' names.
    pub observed: Vec<String>,
}

/// What a long-format file of `simulated` would lose: a size declared
/// `size K = max(choice)` whose simulated variable never reaches the design's
/// `K`, so that a fit of the file would take a smaller `K` (a JSON file keeps
/// it as a key). One note per such size, for the person simulating.
pub fn sizes_a_table_would_lose(
    compiled: &Compiled,
    design: &Data,
    simulated: &Simulated,
) -> Vec<String> {
    let mut notes = Vec::new();
    for id in &compiled.model.sizes {
        let sym = compiled.model.symbol(*id);
        let SymbolKind::Size {
            largest_of: Some(largest_of),
            ..
        } = &sym.kind
        else {
            continue;
        };
        if !simulated.observed.contains(&largest_of.data) {
            continue;
        }
        let (Some(array), Some(&size)) = (
            simulated.data.value(&largest_of.data),
            design.sizes.get(&sym.name),
        ) else {
            continue;
        };
        let found = array.largest_present().map_or(0, |v| v + largest_of.plus);
        if found < size {
            notes.push(format!(
                "the simulated `{}` never reaches {} = {size} (size {} = max({})), so a fit of this table would take {} = {found} (a JSON data set keeps {} = {size} as a key)",
                largest_of.data, sym.name, sym.name, largest_of.data, sym.name, sym.name
            ));
        }
    }
    notes
}

/// Simulates one data set on the `design` (loaded with
/// [`crate::data::load_design`]), drawing from stream `stream` of `seed`.
pub fn simulate(
    compiled: &Compiled,
    design: &Data,
    params: &ParamValues,
    seed: u64,
    stream: u64,
) -> Result<Simulated, Error> {
    let options = GenerativeOptions {
        params: match params {
            ParamValues::Prior => ParamSource::Prior,
            ParamValues::Point(_) => ParamSource::Theta,
        },
        draw: true,
        write_back: true,
        // The mask of the draws' scores tells which cells were drawn.
        log_lik: true,
    };
    let ir = generative(compiled, options)?;
    let mut bound = BoundGenerative::new(compiled, &ir, design)?;
    let dim = density::dimension(compiled, design)?;
    let theta = match params {
        ParamValues::Prior => vec![0.0; dim],
        ParamValues::Point(point) => point_theta(compiled, design, point, dim)?,
    };
    let mut rng = rng(seed, stream);
    let run = match bound.run(&theta, &mut rng) {
        Ok(run) => run,
        Err(e) => {
            // An index out of range comes from the design's data, whatever
            // was drawn: the log density's check names the term and the rows
            // (a data error, as `rlc run` gives on the same file).
            if let Err(data_error) =
                crate::density::Density::new(compiled, design, crate::density::Backend::Interp)
            {
                if data_error.kind == ErrorKind::Data {
                    return Err(data_error);
                }
            }
            return Err(e);
        }
    };
    observed_once(compiled, &bound, &run)?;
    let mut truth = Vec::new();
    let names = compiled
        .ir
        .params
        .iter()
        .map(|p| (p.name.clone(), p.shape.clone()))
        .chain(ir.outs.iter().map(|o| (o.name.clone(), o.ty.shape.clone())));
    for ((name, shape), values) in names.zip(&run.values) {
        let shape: Vec<usize> = shape
            .iter()
            .map(|d| d.eval(&design.sizes).unwrap_or(0).max(0) as usize)
            .collect();
        // Given values are the truth as the user wrote them (the round trip
        // through the unconstrained scale moves their last bits).
        let given = match params {
            ParamValues::Point(Point::Constrained(given)) => given.get(&name),
            _ => None,
        };
        let values = match given {
            Some(g) if g.elements.len() == values.len() => g.elements.clone(),
            Some(g) if g.elements.len() == 1 => vec![g.elements[0]; values.len()],
            _ => values.clone(),
        };
        truth.push((name, shape, values));
    }
    let mut data = design.loaded.clone();
    let spec = crate::data::data_spec(&compiled.model)?;
    for (k, o) in ir.observed.iter().enumerate() {
        let Some(values) = bound.channel(&run, k, Channel::Value) else {
            continue;
        };
        let optional = spec
            .variables
            .iter()
            .any(|d| d.name == o.name && d.optional);
        // A cell the model never drew (a trial it skips, such as one whose
        // outcome is missing) is missing when the declaration allows it: the
        // design's value, or the placeholder of a variable absent from the
        // design, is not a draw. A non-optional variable cannot hold a
        // missing cell (a padded layout, trials past `Tsubj`), so it keeps
        // the design's value or the placeholder, and the file still loads.
        let drawn = bound.channel(&run, k, Channel::Mask).unwrap_or(&[]);
        let Some((_, array)) = data.values.iter_mut().find(|(n, _)| *n == o.name) else {
            continue;
        };
        if let Some(decl) = spec.variables.iter().find(|d| d.name == o.name) {
            within_declaration(decl, &array.shape, values, drawn)?;
        }
        let values: Vec<f64> = values
            .iter()
            .enumerate()
            .map(|(cell, v)| match drawn.get(cell) {
                Some(m) if *m >= 1.0 => *v,
                _ if optional => f64::NAN,
                _ => array.values.get(cell).copied().unwrap_or(f64::NAN),
            })
            .collect();
        let missing: Vec<bool> = values.iter().map(|v| v.is_nan()).collect();
        *array = DataArray {
            elem: array.elem,
            shape: array.shape.clone(),
            values,
            missing: missing.iter().any(|m| *m).then_some(missing),
        };
    }
    Ok(Simulated {
        truth,
        data,
        observed: ir.observed.iter().map(|o| o.name.clone()).collect(),
    })
}

/// Every drawn value of an observed variable lies in its declared range or
/// bounds: else the data set could not be read back (`rlc run` on the file
/// `rlc simulate` wrote), and a recovery would fit data the model says
/// cannot occur. The distribution on it, not the design, is at fault.
fn within_declaration(
    decl: &rlc_data::DataDecl,
    shape: &[usize],
    values: &[f64],
    drawn: &[f64],
) -> Result<(), Error> {
    let outside = values
        .iter()
        .zip(drawn)
        .position(|(v, m)| *m >= 1.0 && !decl.admits(*v));
    let Some(cell) = outside else {
        return Ok(());
    };
    let index: Vec<String> = density::unravel(cell, shape)
        .iter()
        .map(|i| i.to_string())
        .collect();
    let element = if index.is_empty() {
        decl.name.clone()
    } else {
        format!("{}[{}]", decl.name, index.join(", "))
    };
    Err(Error::sampling(format!(
        "error: the model drew {element} = {}, outside its declaration `{decl}`: a file of such draws would not load. The distribution the model puts on `{}` gives values the declaration excludes: use one whose support is the declared range (Beta for [0, 1], LogNormal or Gamma for (0, inf), Categorical over the range for an int), or widen the declaration",
        values[cell], decl.name
    )))
}

/// The unconstrained vector of a given point.
fn point_theta(
    compiled: &Compiled,
    design: &Data,
    point: &Point,
    dim: usize,
) -> Result<Vec<f64>, Error> {
    match point {
        Point::Unconstrained(theta) if theta.len() == dim => Ok(theta.clone()),
        Point::Unconstrained(theta) => Err(Error::usage(format!(
            "error: {} unconstrained coordinates were given but the model has {dim}",
            theta.len()
        ))),
        Point::Constrained(values) => {
            let params = density::param_shapes(compiled, design);
            let theta = if params.iter().all(|p| p.bounds.is_some()) {
                density::unconstrain(&params, values, &|_, _| Ok(Vec::new()))
            } else {
                // Bounds that depend on other values are the program's own
                // expressions, evaluated by its generated quantities.
                density::Density::new(compiled, design, density::Backend::Interp)?
                    .unconstrain(values)
            };
            theta.map_err(|e| Error::usage(format!("error: {e}")))
        }
    }
}

/// The format of a design file and so of its simulated data sets: JSON, or
/// delimited text with its delimiter (`delimiter` if given, else the one its
/// name or header says).
pub fn design_format(
    design: &Data,
    design_bytes: &[u8],
    delimiter: Option<u8>,
) -> rlc_data::Format {
    match rlc_data::Format::guess(&design.name, design_bytes) {
        rlc_data::Format::Csv { delimiter: d } => rlc_data::Format::Csv {
            delimiter: Some(rlc_data::csv_delimiter(design_bytes, delimiter.or(d))),
        },
        f => f,
    }
}

/// Whether a simulated data set can be written to a file named `output` (its
/// extension, `.json`, `.csv`, `.txt` or `.tsv`, says the format it is read back
/// in, [`rlc_data::Format::guess`]; another is read by its content, the design's
/// format): `Ok(true)` as JSON though the design is delimited text (JSON holds
/// any data), `Ok(false)` in the design's format, or why neither reads back.
pub fn simulated_as_json(
    design: &Data,
    design_bytes: &[u8],
    delimiter: Option<u8>,
    output: &str,
) -> Result<bool, String> {
    let Some(wanted) = rlc_data::Format::named(output) else {
        return Ok(false);
    };
    match (design_format(design, design_bytes, delimiter), wanted) {
        (rlc_data::Format::Csv { .. }, rlc_data::Format::Json) => Ok(true),
        (rlc_data::Format::Json, rlc_data::Format::Json) => Ok(false),
        (rlc_data::Format::Json, _) => Err(format!(
            "{output}: the design {} is JSON, and its simulated data is JSON too (its arrays need not be the columns of one table): name the file .json",
            design.name
        )),
        (rlc_data::Format::Csv { delimiter: Some(d) }, rlc_data::Format::Csv { delimiter: Some(wanted) })
            if d != wanted =>
        {
            Err(format!(
                "{output}: the simulated data keeps the design's delimiter ({}), which a .tsv file is not read with: name the file .csv or .txt, or .json",
                delimiter_name(d)
            ))
        }
        _ => Ok(false),
    }
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "a tab".to_string(),
        b',' => "a comma".to_string(),
        b';' => "a semicolon".to_string(),
        other => format!("`{}`", other as char),
    }
}

/// The file a simulated data set is written to, in the design's format: a
/// long CSV keeps every row and column of the design with the observed
/// columns replaced (or added); JSON holds every size and data variable.
/// `as_json` writes JSON whatever the design's format ([`simulated_as_json`]).
pub fn simulated_file(
    design: &Data,
    design_bytes: &[u8],
    delimiter: Option<u8>,
    simulated: &Simulated,
    as_json: bool,
) -> Result<Vec<u8>, Error> {
    let format = if as_json {
        rlc_data::Format::Json
    } else {
        design_format(design, design_bytes, delimiter)
    };
    match format {
        rlc_data::Format::Json => {
            Ok(rlc_data::write_json(&simulated.data.sizes, &simulated.data.values).into_bytes())
        }
        rlc_data::Format::Csv { delimiter } => {
            let mut columns = Vec::new();
            for name in &simulated.observed {
                let (Some(array), Some((_, cells))) = (
                    simulated.data.value(name),
                    simulated.data.row_cells.iter().find(|(n, _)| n == name),
                ) else {
                    continue;
                };
                let texts = cells.iter().map(|&c| cell_text(array, c)).collect();
                columns.push((name.clone(), texts));
            }
            // Values set apart from the design (`--set`) are written into the data set,
            // so that a fit of it reads the values it was simulated with.
            let rows = design.loaded.row_lines.len();
            for name in &design.loaded.given {
                // An observed variable is drawn, and written with the draws above.
                if simulated.observed.contains(name) {
                    continue;
                }
                let Some(array) = simulated.data.value(name) else {
                    // A size set apart (`--set L=4`) is the column of its name.
                    if let Some((_, value)) = simulated.data.sizes.iter().find(|(n, _)| n == name) {
                        columns.push((name.clone(), vec![value.to_string(); rows]));
                    }
                    continue;
                };
                let shape = array.shape.clone();
                for (cell, column) in crate::density::element_names(name, &shape)
                    .into_iter()
                    .enumerate()
                {
                    columns.push((column, vec![cell_text(array, cell); rows]));
                }
            }
            rlc_data::rewrite_csv(&design.name, design_bytes, delimiter, &columns)
                .map_err(|e| Error::data(format!("error: {e}")))
        }
    }
}

/// A cell as a CSV field: integers without a fraction, reals exactly,
/// `NA` for a missing cell.
fn cell_text(array: &DataArray, cell: usize) -> String {
    let x = array.values.get(cell).copied().unwrap_or(f64::NAN);
    if x.is_nan() || array.is_missing(cell) {
        "NA".to_string()
    } else if array.elem != rlc_data::ElemType::Real && x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x:?}")
    }
}

/// The pointwise log-likelihood function of a model on `data`, run once at
/// the origin: which cells are scored, and how often, depends on the data
/// only (which cells are present), not on the parameters.
fn scores_on(
    compiled: &Compiled,
    data: &Data,
) -> Result<(GenerativeIr, BoundGenerative, GenerativeRun), Error> {
    let options = GenerativeOptions {
        params: ParamSource::Theta,
        draw: false,
        write_back: false,
        log_lik: true,
    };
    let ir = generative(compiled, options)?;
    let mut function = BoundGenerative::new(compiled, &ir, data)?;
    let dim = density::dimension(compiled, data)?;
    let run = function.run(&vec![0.0; dim], &mut rng(0, 0))?;
    Ok((ir, function, run))
}

/// A cell two `~` statements observe is drawn by each, and keeps only the
/// last draw: the data would follow the last statement alone, not the model
/// whose log density has both terms. Running such a model forward is a model
/// error that names the first such cell.
fn observed_once(
    compiled: &Compiled,
    bound: &BoundGenerative,
    run: &GenerativeRun,
) -> Result<(), Error> {
    for (k, layout) in bound.observed.iter().enumerate() {
        let name = &layout.name;
        let mask = bound.channel(run, k, Channel::Mask).unwrap_or(&[]);
        let Some(cell) = mask.iter().position(|m| *m > 1.0) else {
            continue;
        };
        let index = density::unravel(cell, &bound.observed_shapes[k]);
        let element = if index.is_empty() {
            name.clone()
        } else {
            format!(
                "{name}[{}]",
                index
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let count = mask.iter().filter(|m| **m > 1.0).count();
        return Err(Error::new(
            ErrorKind::Model,
            format!(
                "error: {} cannot be run forward: `{element}` is observed by {} `~` statements{}, so a draw of it would follow the last statement alone while the log density has every term; observe each value with one `~` (a sum of terms on one value is `target +=`)",
                compiled.name,
                mask[cell] as usize,
                match count {
                    0 | 1 => String::new(),
                    2 => format!(" (and 1 more cell of `{name}` too)"),
                    _ => format!(" (and {} more cells of `{name}` too)", count - 1),
                }
            ),
        ));
    }
    Ok(())
}

/// The outs written in loops (`out pe[n, t] = …`, a model's regressors) at the
/// parameters a data set was simulated with, computed on that data set: each name,
/// shape and row-major values, NaN in the cells no loop writes (a missed trial). The
/// true trial-wise quantities of a recovery study; empty for a model without them.
pub fn loop_outs_at_truth(
    compiled: &Compiled,
    simulated: &Simulated,
) -> Result<Vec<NamedArray>, Error> {
    if compiled.model.loop_outs.is_empty() {
        return Ok(Vec::new());
    }
    let with_loop_outs = compiled.clone().with_loop_outs()?;
    let data = Data {
        sizes: simulated
            .data
            .sizes
            .iter()
            .map(|(name, n)| (name.clone(), *n as i64))
            .collect(),
        loaded: simulated.data.clone(),
        name: "the simulated data set".to_string(),
        row_names: None,
    };
    let mut density = density::Density::new(&with_loop_outs, &data, density::Backend::Interp)?;
    let values: density::GivenValues = simulated
        .truth
        .iter()
        .take(compiled.ir.params.len())
        .map(|(name, shape, values)| {
            (
                name.clone(),
                rlc_data::GivenValue::shaped(values.clone(), shape.clone()),
            )
        })
        .collect();
    let theta = density.unconstrain(&values).map_err(|e| {
        Error::internal(format!(
            "internal error: the parameters a data set was simulated with: {e}"
        ))
    })?;
    let generated = density.generated(&theta).map_err(|e| {
        Error::new(
            ErrorKind::Sampling,
            format!("error: computing the outs written in loops at the true parameters: {e}"),
        )
    })?;
    // The constrained parameters come first, then each out in order.
    let mut at: usize = density
        .params
        .iter()
        .map(|p| p.shape.iter().product::<usize>())
        .sum();
    let mut loop_outs = Vec::new();
    for (name, shape, in_loops) in &density.outs {
        let count: usize = shape.iter().product();
        if *in_loops {
            let values = generated.get(at..at + count).unwrap_or_default().to_vec();
            loop_outs.push((name.clone(), shape.clone(), values));
        }
        at += count;
    }
    Ok(loop_outs)
}

/// The truth of a simulated data set as JSON: `{"model", "data", "seed", "stream",
/// "params": {…}, "outs": {…}}` (scalars as numbers, arrays nested row-major), and
/// `"loop_outs": {…}` where `loop_outs` has values ([`loop_outs_at_truth`]).
pub fn truth_json(
    compiled: &Compiled,
    simulated: &Simulated,
    model_file: &str,
    data_file: &str,
    seed: u64,
    stream: u64,
    loop_outs: &[NamedArray],
) -> String {
    let param_count = compiled.ir.params.len();
    let entry = |name: &String, shape: &Vec<usize>, values: &Vec<f64>| {
        let array = DataArray {
            elem: rlc_data::ElemType::Real,
            shape: shape.clone(),
            values: values.clone(),
            missing: None,
        };
        let text = rlc_data::write_json(&[], &[(name.clone(), array)]);
        // `{\n  "name": value\n}\n` → `"name": value`.
        let entry = text
            .trim()
            .trim_start_matches('{')
            .trim_end_matches('}')
            .trim()
            .to_string();
        format!("    {entry}")
    };
    let mut params = Vec::new();
    let mut outs = Vec::new();
    for (k, (name, shape, values)) in simulated.truth.iter().enumerate() {
        if k < param_count {
            params.push(entry(name, shape, values));
        } else {
            outs.push(entry(name, shape, values));
        }
    }
    let loop_outs: Vec<String> = loop_outs
        .iter()
        .map(|(name, shape, values)| entry(name, shape, values))
        .collect();
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let object = |entries: &[String]| {
        if entries.is_empty() {
            "{}".to_string()
        } else {
            format!("{{\n{}\n  }}", entries.join(",\n"))
        }
    };
    let loop_outs = if loop_outs.is_empty() {
        String::new()
    } else {
        format!(",\n  \"loop_outs\": {}", object(&loop_outs))
    };
    format!(
        "{{\n  \"model\": {},\n  \"data\": {},\n  \"seed\": {seed},\n  \"stream\": {stream},\n  \"params\": {},\n  \"outs\": {}{loop_outs}\n}}\n",
        quote(model_file),
        quote(data_file),
        object(&params),
        object(&outs)
    )
}

/// Parameter values from a JSON object of constrained values (`{"alpha": 0.3,
/// "w": [0.1, 0.2]}`, nested arrays flattened row-major; a truth file's
/// `params` object is also accepted).
pub fn parse_values_json(text: &str) -> Result<crate::density::GivenValues, Error> {
    let value = rlc_data::parse_json_numbers(text)
        .map_err(|e| Error::usage(format!("error: the parameter file: {e}")))?;
    Ok(value)
}

/// The unit of the pointwise log-likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLikUnit {
    /// One column per `~` element (a trial).
    Observation,
    /// One column per subject (the first axis of the observed variables,
    /// a size grouped from a long file), summing its observations: for
    /// leave-one-subject-out, which stays valid when trials depend on each other.
    Subject,
}

/// Which posterior predictive draws to make with each posterior draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictKind {
    /// Each observation drawn given the observed history (hBayesDM's `y_pred`).
    OneStep,
    /// Whole sessions: the agent plays the task, later trials see its own draws.
    Full,
}

/// The quantities to compute for every posterior draw besides the
/// parameters and `out` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrawExtras {
    pub log_lik: Option<LogLikUnit>,
    pub predict: Option<PredictKind>,
}

/// The extra arrays of each draw, ready to compute per chain.
#[derive(Clone)]
pub struct DrawOutputs {
    log_lik: Option<LogLikColumns>,
    predict: Option<(BoundGenerative, Channel)>,
    /// The arrays these add to a draw, in the order of their values.
    pub variables: Vec<crate::sample::Variable>,
}

/// The pointwise log-likelihood function and which of its cells make each column.
#[derive(Clone)]
struct LogLikColumns {
    function: BoundGenerative,
    /// For each column, the (observed variable, cell) pairs summed into it.
    columns: Vec<Vec<(usize, usize)>>,
    /// The same, as names can be given to the columns.
    cells: LogLikCells,
}

/// Which data cells make the `log_lik` columns, in column order, so that a
/// column can be named (`choice[S07, 15]`, `subject S07`) where a warning
/// points at it. A run's files record it in their header as one line:
/// `observation; choice[N:20,T:100] 0-1715 1717-1999; rt[N:20,T:100] 0-1999`
/// (each group an observed variable, its axes and lengths, and the runs of
/// its scored cells' row-major indexes), or `subject; [N:20] 0-19` (the
/// subjects' indexes along the grouped axis).
#[derive(Debug, Clone, PartialEq)]
pub struct LogLikCells {
    pub unit: LogLikUnit,
    pub groups: Vec<CellGroup>,
}

/// One observed variable's scored cells (empty `variable` for subjects).
#[derive(Debug, Clone, PartialEq)]
pub struct CellGroup {
    pub variable: String,
    /// Axis names and lengths, outermost first.
    pub axes: Vec<(String, usize)>,
    /// Inclusive ranges of row-major cell indexes, in column order.
    pub runs: Vec<(usize, usize)>,
}

impl CellGroup {
    fn new(
        variable: &str,
        axes: Vec<(String, usize)>,
        cells: impl IntoIterator<Item = usize>,
    ) -> Self {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for cell in cells {
            match runs.last_mut() {
                Some((_, end)) if *end + 1 == cell => *end = cell,
                _ => runs.push((cell, cell)),
            }
        }
        CellGroup {
            variable: variable.to_string(),
            axes,
            runs,
        }
    }
}

impl LogLikCells {
    /// The header line's value.
    pub fn header(&self) -> String {
        let mut text = match self.unit {
            LogLikUnit::Observation => "observation".to_string(),
            LogLikUnit::Subject => "subject".to_string(),
        };
        for group in &self.groups {
            let axes: Vec<String> = group.axes.iter().map(|(a, n)| format!("{a}:{n}")).collect();
            text.push_str(&format!("; {}[{}]", group.variable, axes.join(",")));
            for (a, b) in &group.runs {
                if a == b {
                    text.push_str(&format!(" {a}"));
                } else {
                    text.push_str(&format!(" {a}-{b}"));
                }
            }
        }
        text
    }

    /// Reads [`LogLikCells::header`]'s text back; `None` if it is not one.
    pub fn parse(text: &str) -> Option<LogLikCells> {
        let mut parts = text.split(';').map(str::trim);
        let unit = match parts.next()? {
            "observation" => LogLikUnit::Observation,
            "subject" => LogLikUnit::Subject,
            _ => return None,
        };
        let mut groups = Vec::new();
        for part in parts {
            let (variable, rest) = part.split_once('[')?;
            let (axes_text, runs_text) = rest.split_once(']')?;
            let mut axes = Vec::new();
            for axis in axes_text.split(',').filter(|a| !a.is_empty()) {
                let (name, len) = axis.split_once(':')?;
                axes.push((name.trim().to_string(), len.trim().parse().ok()?));
            }
            let mut runs = Vec::new();
            for run in runs_text.split_whitespace() {
                let (a, b) = run.split_once('-').unwrap_or((run, run));
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                runs.push((a, b));
            }
            groups.push(CellGroup {
                variable: variable.trim().to_string(),
                axes,
                runs,
            });
        }
        Some(LogLikCells { unit, groups })
    }

    /// The number of columns the cells make.
    pub fn len(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.runs)
            .fold(0usize, |n, (a, b)| {
                n.saturating_add(b - a).saturating_add(1)
            })
    }

    /// Whether no cell is scored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each column's name, in column order: `choice[S07, 15]` (the cell, as
    /// `--labels model` names elements) or `subject S07`. `coords` are the
    /// labels of grouped axes.
    pub fn names(&self, coords: &[(String, Vec<String>)]) -> Vec<String> {
        let dims = crate::labels::Dims {
            coords: coords.to_vec(),
            ..Default::default()
        };
        let mut names = Vec::new();
        for group in &self.groups {
            let axes: Vec<String> = group.axes.iter().map(|(a, _)| a.clone()).collect();
            let shape: Vec<usize> = group.axes.iter().map(|(_, n)| *n).collect();
            for &(a, b) in &group.runs {
                for cell in a..=b {
                    let index = crate::density::unravel(cell, &shape);
                    names.push(match self.unit {
                        LogLikUnit::Observation => dims.cell_label(&group.variable, &axes, &index),
                        LogLikUnit::Subject => format!(
                            "subject {}",
                            dims.index_label(axes.first().map(String::as_str), index[0])
                        ),
                    });
                }
            }
        }
        names
    }
}

/// The axis names and lengths of observed variable `name` of `shape`: the
/// data's axis names where `name` is a data variable.
fn observed_axes(dims: &crate::labels::Dims, name: &str, shape: &[usize]) -> Vec<(String, usize)> {
    let names = dims
        .data
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.dims.clone());
    shape
        .iter()
        .enumerate()
        .map(|(axis, n)| {
            let axis_name = names
                .as_ref()
                .and_then(|d| d.get(axis).cloned())
                .unwrap_or_else(|| format!("{name}_dim_{axis}"));
            (axis_name, *n)
        })
        .collect()
}

impl DrawOutputs {
    /// Which data cells make the `log_lik` columns, when they are written.
    pub fn log_lik_cells(&self) -> Option<&LogLikCells> {
        self.log_lik.as_ref().map(|l| &l.cells)
    }

    /// No extras.
    pub fn none() -> DrawOutputs {
        DrawOutputs {
            log_lik: None,
            predict: None,
            variables: Vec::new(),
        }
    }

    pub fn new(compiled: &Compiled, data: &Data, extras: DrawExtras) -> Result<DrawOutputs, Error> {
        use crate::sample::{Variable, VariableKind};
        let mut out = DrawOutputs::none();
        // The scores at the origin serve both: the columns of `log_lik`, and
        // the check that no cell a replica draws is observed twice.
        let mut scores = if extras.log_lik.is_some() || extras.predict.is_some() {
            Some(scores_on(compiled, data)?)
        } else {
            None
        };
        if let (Some(_), Some((_, function, run))) = (extras.predict, &scores) {
            // A replica of a cell two `~` draw would follow the last one alone.
            observed_once(compiled, function, run)?;
        }
        if let (Some(unit), Some((ir, function, run))) = (extras.log_lik, scores.take()) {
            let dims = crate::labels::dims(compiled, data);
            let mut columns: Vec<Vec<(usize, usize)>> = Vec::new();
            let mut by_subject: std::collections::BTreeMap<usize, Vec<(usize, usize)>> =
                Default::default();
            for (k, o) in ir.observed.iter().enumerate() {
                let mask = function.channel(&run, k, Channel::Mask).unwrap_or(&[]);
                let shape = &function.observed_shapes[k];
                let inner: usize = shape.iter().skip(1).product();
                let subject_axis = dims
                    .data
                    .iter()
                    .find(|d| d.name == o.name)
                    .and_then(|d| d.dims.first())
                    .filter(|d| dims.labels(d).is_some());
                if unit == LogLikUnit::Subject && subject_axis.is_none() {
                    return Err(Error::usage(format!(
                        "error: --log-lik subject needs subjects: the first axis of `{}` must be a size grouped from the data file (`size N by subjID`)",
                        o.name
                    )));
                }
                for (cell, m) in mask.iter().enumerate() {
                    if *m == 0.0 {
                        continue;
                    }
                    match unit {
                        LogLikUnit::Observation => columns.push(vec![(k, cell)]),
                        LogLikUnit::Subject => by_subject
                            .entry(cell / inner.max(1))
                            .or_default()
                            .push((k, cell)),
                    }
                }
            }
            let cells = match unit {
                LogLikUnit::Observation => {
                    let mut groups: Vec<CellGroup> = Vec::new();
                    for (k, o) in ir.observed.iter().enumerate() {
                        let shape = &function.observed_shapes[k];
                        let axes = observed_axes(&dims, &o.name, shape);
                        let cells = columns
                            .iter()
                            .filter_map(|c| c.first())
                            .filter(|(v, _)| *v == k)
                            .map(|(_, cell)| *cell);
                        groups.push(CellGroup::new(&o.name, axes, cells));
                    }
                    groups.retain(|g| !g.runs.is_empty());
                    LogLikCells { unit, groups }
                }
                LogLikUnit::Subject => {
                    let axis = ir
                        .observed
                        .first()
                        .zip(function.observed_shapes.first())
                        .map(|(o, shape)| {
                            observed_axes(&dims, &o.name, shape)
                                .into_iter()
                                .take(1)
                                .collect()
                        });
                    LogLikCells {
                        unit,
                        groups: axis
                            .map(|axis| CellGroup::new("", axis, by_subject.keys().copied()))
                            .into_iter()
                            .collect(),
                    }
                }
            };
            if unit == LogLikUnit::Subject {
                columns = by_subject.into_values().collect();
            }
            out.variables.push(Variable {
                name: "log_lik".to_string(),
                shape: vec![columns.len()],
                kind: VariableKind::LogLik,
            });
            out.log_lik = Some(LogLikColumns {
                function,
                columns,
                cells,
            });
        }
        if let Some(kind) = extras.predict {
            let options = GenerativeOptions {
                params: ParamSource::Theta,
                draw: true,
                write_back: kind == PredictKind::Full,
                // A full replica's cells that no `~` drew hold the data's
                // values; the scores' mask tells them, to leave them out.
                log_lik: kind == PredictKind::Full,
            };
            let ir = generative(compiled, options)?;
            let function = BoundGenerative::new(compiled, &ir, data)?;
            for (o, shape) in ir.observed.iter().zip(&function.observed_shapes) {
                out.variables.push(Variable {
                    name: format!("{}_rep", o.name),
                    shape: shape.clone(),
                    kind: VariableKind::Predicted,
                });
            }
            let channel = match kind {
                PredictKind::OneStep => Channel::Replica,
                PredictKind::Full => Channel::Value,
            };
            out.predict = Some((function, channel));
        }
        Ok(out)
    }

    /// The extra values of the draw at `theta`, in the order of `variables`.
    pub fn compute(&mut self, theta: &[f64], rng: &mut ChaCha8Rng) -> Result<Vec<f64>, Error> {
        let mut values = Vec::new();
        if let Some(ll) = &mut self.log_lik {
            let run = ll.function.run(theta, rng)?;
            for column in &ll.columns {
                let mut total = 0.0;
                for (k, cell) in column {
                    total += ll
                        .function
                        .channel(&run, *k, Channel::LogLik)
                        .and_then(|c| c.get(*cell))
                        .copied()
                        .unwrap_or(f64::NAN);
                }
                values.push(total);
            }
        }
        if let Some((function, channel)) = &mut self.predict {
            let run = function.run(theta, rng)?;
            for k in 0..function.observed.len() {
                let replica = function.channel(&run, k, *channel).unwrap_or(&[]);
                if *channel == Channel::Value {
                    // Not drawn (a trial the model skips): not a prediction.
                    let drawn = function.channel(&run, k, Channel::Mask).unwrap_or(&[]);
                    values.extend(replica.iter().enumerate().map(
                        |(cell, v)| match drawn.get(cell) {
                            Some(m) if *m >= 1.0 => *v,
                            _ => f64::NAN,
                        },
                    ));
                } else {
                    values.extend_from_slice(replica);
                }
            }
        }
        Ok(values)
    }

    /// Whether there is anything to compute.
    pub fn is_empty(&self) -> bool {
        self.variables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lik_cells_read_back_from_their_header_and_name_each_column() {
        let cells = LogLikCells {
            unit: LogLikUnit::Observation,
            groups: vec![
                CellGroup::new(
                    "choice",
                    vec![("N".into(), 2), ("T".into(), 3)],
                    [0, 2, 3, 4],
                ),
                CellGroup::new("rt", vec![("rt_dim_0".into(), 2)], [1]),
            ],
        };
        let header = cells.header();
        assert_eq!(
            header,
            "observation; choice[N:2,T:3] 0 2-4; rt[rt_dim_0:2] 1"
        );
        assert_eq!(LogLikCells::parse(&header), Some(cells.clone()));
        assert_eq!(cells.len(), 5);
        let coords = vec![("N".to_string(), vec!["S1".to_string(), "S2".to_string()])];
        assert_eq!(
            cells.names(&coords),
            [
                "choice[S1, 0]",
                "choice[S1, 2]",
                "choice[S2, 0]",
                "choice[S2, 1]",
                "rt[1]"
            ]
        );
        let subjects = LogLikCells {
            unit: LogLikUnit::Subject,
            groups: vec![CellGroup::new("", vec![("N".into(), 2)], [1])],
        };
        assert_eq!(subjects.header(), "subject; [N:2] 1");
        assert_eq!(
            LogLikCells::parse(&subjects.header()),
            Some(subjects.clone())
        );
        assert_eq!(subjects.names(&coords), ["subject S2"]);
        for bad in [
            "",
            "trial; x[N:2] 0",
            "observation; x[N:two] 0",
            "observation; x[N:2] 3-1",
            "observation; x N:2 0",
        ] {
            assert_eq!(LogLikCells::parse(bad), None, "{bad}");
        }
    }
}
