//! The tokens of the `.rlm` language, recognized by a logos lexer.

use logos::Logos;
use std::fmt;

/// One token. Identifiers and numbers keep their source text; the parser
/// converts numbers so that an out-of-range literal becomes a located error.
#[derive(Logos, Debug, Clone, Copy, PartialEq)]
#[logos(skip r"[ \t\r\f]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
#[logos(skip r"/\*([^*]|\*+[^*/])*\*+/")]
pub enum Tok<'s> {
    #[token("\n")]
    Newline,
    /// A statement separator: an explicit `;` at statement level, or a line
    /// break that ends a statement. Made by [`crate::lexer`], never by logos.
    Sep,

    #[token("size")]
    Size,
    #[token("by")]
    By,
    #[token("data")]
    Data,
    #[token("param")]
    Param,
    #[token("let")]
    Let,
    #[token("out")]
    Out,
    #[token("target")]
    Target,
    #[token("scan")]
    Scan,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("inf")]
    Inf,
    #[token("int")]
    IntType,
    #[token("real")]
    RealType,
    #[token("bool")]
    BoolType,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'s str),
    #[regex(r"[0-9]+", |lex| lex.slice())]
    Int(&'s str),
    #[regex(r"[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+", |lex| lex.slice())]
    Real(&'s str),

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("?")]
    Question,
    #[token("~")]
    Tilde,
    #[token("=")]
    Assign,
    #[token("+=")]
    PlusAssign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    /// Python's power operator: parsed as `^` and reported (`Habit::Power`).
    #[token("**")]
    StarStar,
    #[token("/")]
    Slash,
    #[token("^")]
    Caret,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("..")]
    DotDot,
    /// A single `.`: rlc has no attributes or methods, but `np.exp(x)` and
    /// `x.shape` are parsed so that the error can say how rlc writes them.
    #[token(".")]
    Dot,
    /// A Python comment, `# …`: skipped like `// …` and reported. Made by
    /// logos, never seen by the parser.
    #[regex(r"#[^\n]*", allow_greedy = true)]
    HashComment,
}

impl Tok<'_> {
    /// Whether a statement may end with this token, so that a line break after
    /// it separates statements.
    pub(crate) fn can_end_statement(&self) -> bool {
        matches!(
            self,
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Real(_)
                | Tok::True
                | Tok::False
                | Tok::Inf
                | Tok::RParen
                | Tok::RBracket
                | Tok::RBrace
                | Tok::IntType
                | Tok::RealType
                | Tok::BoolType
                | Tok::Question
        )
    }

    /// Whether this token may appear in Stan's bounds, `<lower=-1, upper=K + 1>`.
    pub(crate) fn can_be_in_stan_bounds(&self) -> bool {
        matches!(
            self,
            Tok::Ident(_)
                | Tok::Assign
                | Tok::Int(_)
                | Tok::Real(_)
                | Tok::Inf
                | Tok::Minus
                | Tok::Plus
                | Tok::Star
                | Tok::Slash
                | Tok::Comma
        )
    }

    /// Whether a line starting with this token continues the previous line
    /// (a binary operator that cannot start an expression, `else`, a closer).
    pub(crate) fn continues_line(&self) -> bool {
        matches!(
            self,
            Tok::Plus
                | Tok::Star
                | Tok::StarStar
                | Tok::Dot
                | Tok::Slash
                | Tok::Caret
                | Tok::EqEq
                | Tok::NotEq
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::AndAnd
                | Tok::OrOr
                | Tok::Tilde
                | Tok::DotDot
                | Tok::PlusAssign
                | Tok::Assign
                | Tok::Else
                | Tok::RParen
                | Tok::RBracket
                | Tok::RBrace
                | Tok::LBrace
                | Tok::Comma
                | Tok::Colon
                | Tok::Question
                | Tok::Sep
                | Tok::Semi
        )
    }
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Tok::Newline => "line break",
            Tok::Sep => "end of the statement",
            Tok::Size => "`size`",
            Tok::By => "`by`",
            Tok::Data => "`data`",
            Tok::Param => "`param`",
            Tok::Let => "`let`",
            Tok::Out => "`out`",
            Tok::Target => "`target`",
            Tok::Scan => "`scan`",
            Tok::For => "`for`",
            Tok::In => "`in`",
            Tok::If => "`if`",
            Tok::Else => "`else`",
            Tok::True => "`true`",
            Tok::False => "`false`",
            Tok::Inf => "`inf`",
            Tok::IntType => "`int`",
            Tok::RealType => "`real`",
            Tok::BoolType => "`bool`",
            Tok::Ident(name) => return write!(f, "name `{name}`"),
            Tok::Int(text) | Tok::Real(text) => return write!(f, "number `{text}`"),
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::Comma => "`,`",
            Tok::Semi => "`;`",
            Tok::Colon => "`:`",
            Tok::Question => "`?`",
            Tok::Tilde => "`~`",
            Tok::Assign => "`=`",
            Tok::PlusAssign => "`+=`",
            Tok::Plus => "`+`",
            Tok::Minus => "`-`",
            Tok::Star => "`*`",
            Tok::StarStar => "`**`",
            Tok::Slash => "`/`",
            Tok::Caret => "`^`",
            Tok::EqEq => "`==`",
            Tok::NotEq => "`!=`",
            Tok::Lt => "`<`",
            Tok::Le => "`<=`",
            Tok::Gt => "`>`",
            Tok::Ge => "`>=`",
            Tok::AndAnd => "`&&`",
            Tok::OrOr => "`||`",
            Tok::Bang => "`!`",
            Tok::DotDot => "`..`",
            Tok::Dot => "`.`",
            Tok::HashComment => "a `#` comment",
        };
        f.write_str(text)
    }
}
