//! The OData `$filter` subset mfalens serves on `userRegistrationDetails`: boolean properties
//! tested with `eq true|false`, joined by `and`, parentheses allowed. Anything else is refused
//! with a message naming the token at fault; which properties exist is the caller's list.

/// Deepest parenthesis nesting accepted; real filters need one or two levels.
pub const MAX_NESTING: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("the $filter expression is empty")]
    Empty,
    #[error("unexpected character '{0}' in $filter at position {1}")]
    BadCharacter(char, usize),
    #[error("property '{name}' cannot be used in $filter here; filterable properties: {known}")]
    UnknownProperty { name: String, known: String },
    #[error("operator '{0}' is not supported in $filter here; compare a property with 'eq'")]
    UnsupportedOperator(String),
    #[error("'{0}' is not supported in $filter here; combine conditions with 'and'")]
    UnsupportedLogical(String),
    #[error("'{found}' is not a valid value for '{property}' in $filter; expected true or false")]
    NotABoolean { property: String, found: String },
    #[error("in $filter, expected {expected} but found {found}")]
    Expected {
        expected: &'static str,
        found: String,
    },
    #[error("$filter nests parentheses deeper than {MAX_NESTING} levels")]
    TooDeep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
}

impl Token {
    fn show(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    for (i, c) in s.chars().enumerate() {
        match c {
            // `+` is how form-encoding writes a space; no valid token contains one.
            c if c.is_whitespace() || c == '+' => flush(&mut word, &mut out),
            '(' => {
                flush(&mut word, &mut out);
                out.push(Token::Open);
            }
            ')' => {
                flush(&mut word, &mut out);
                out.push(Token::Close);
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '\'' | '-' | ':') => {
                word.push(c)
            }
            other => return Err(FilterError::BadCharacter(other, i)),
        }
    }
    flush(&mut word, &mut out);
    Ok(out)
}

const COMPARISONS: &[&str] = &["ne", "gt", "ge", "lt", "le", "has", "in"];

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    properties: &'a [&'static str],
    out: Vec<(&'static str, bool)>,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn found(t: Option<&Token>) -> String {
        t.map(Token::show)
            .unwrap_or_else(|| "the end of the expression".into())
    }

    fn expr(&mut self, depth: usize) -> Result<(), FilterError> {
        self.term(depth)?;
        loop {
            match self.tokens.get(self.pos) {
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => {
                    self.pos += 1;
                    self.term(depth)?;
                }
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => {
                    return Err(FilterError::UnsupportedLogical(w.clone()));
                }
                Some(Token::Close) if depth > 0 => return Ok(()),
                None => return Ok(()),
                other => {
                    return Err(FilterError::Expected {
                        expected: "'and' or the end of the expression",
                        found: Self::found(other),
                    });
                }
            }
        }
    }

    fn term(&mut self, depth: usize) -> Result<(), FilterError> {
        match self.next() {
            Some(Token::Open) => {
                if depth + 1 > MAX_NESTING {
                    return Err(FilterError::TooDeep);
                }
                self.expr(depth + 1)?;
                match self.next() {
                    Some(Token::Close) => Ok(()),
                    other => Err(FilterError::Expected {
                        expected: "')'",
                        found: Self::found(other.as_ref()),
                    }),
                }
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                Err(FilterError::UnsupportedLogical(w))
            }
            Some(Token::Word(name)) => self.comparison(name),
            other => Err(FilterError::Expected {
                expected: "a property name",
                found: Self::found(other.as_ref()),
            }),
        }
    }

    fn comparison(&mut self, name: String) -> Result<(), FilterError> {
        let property = self
            .properties
            .iter()
            .copied()
            .find(|p| p.eq_ignore_ascii_case(&name))
            .ok_or_else(|| FilterError::UnknownProperty {
                name: name.clone(),
                known: self.properties.join(", "),
            })?;
        match self.next() {
            Some(Token::Word(op)) if op.eq_ignore_ascii_case("eq") => {}
            Some(Token::Word(op)) if COMPARISONS.iter().any(|c| c.eq_ignore_ascii_case(&op)) => {
                return Err(FilterError::UnsupportedOperator(op));
            }
            other => {
                return Err(FilterError::Expected {
                    expected: "'eq' after the property name",
                    found: Self::found(other.as_ref()),
                });
            }
        }
        let value = match self.next() {
            Some(Token::Word(v)) if v.eq_ignore_ascii_case("true") => true,
            Some(Token::Word(v)) if v.eq_ignore_ascii_case("false") => false,
            other => {
                return Err(FilterError::NotABoolean {
                    property: property.to_string(),
                    found: other
                        .map(|t| match t {
                            Token::Word(w) => w,
                            t => t.show(),
                        })
                        .unwrap_or_else(|| "nothing".into()),
                });
            }
        };
        self.out.push((property, value));
        Ok(())
    }
}

/// Parses `prop eq true and (other eq false)`. `properties` names the filterable booleans;
/// names and keywords match case-insensitively. Returns each test once per occurrence.
pub fn parse_bool_conjunction(
    s: &str,
    properties: &[&'static str],
) -> Result<Vec<(&'static str, bool)>, FilterError> {
    let tokens = tokenize(s)?;
    if tokens.is_empty() {
        return Err(FilterError::Empty);
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        properties,
        out: Vec::new(),
    };
    p.expr(0)?;
    if p.pos < p.tokens.len() {
        return Err(FilterError::Expected {
            expected: "'and' or the end of the expression",
            found: Parser::found(p.tokens.get(p.pos)),
        });
    }
    Ok(p.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPS: &[&str] = &["isAdmin", "isMfaRegistered", "isSsprCapable"];

    fn parse(s: &str) -> Result<Vec<(&'static str, bool)>, FilterError> {
        parse_bool_conjunction(s, PROPS)
    }

    #[test]
    fn reads_conjunctions_of_boolean_tests() {
        assert_eq!(parse("isAdmin eq true").unwrap(), vec![("isAdmin", true)]);
        assert_eq!(
            parse("isAdmin eq true and isMfaRegistered eq false").unwrap(),
            vec![("isAdmin", true), ("isMfaRegistered", false)]
        );
        assert_eq!(
            parse("  (ISADMIN EQ True) AND (isSsprCapable eq false and isMfaRegistered eq true)")
                .unwrap(),
            vec![
                ("isAdmin", true),
                ("isSsprCapable", false),
                ("isMfaRegistered", true)
            ]
        );
        assert_eq!(
            parse("isAdmin+eq+true").unwrap(),
            vec![("isAdmin", true)],
            "form-encoded spaces"
        );
        assert_eq!(
            parse("isAdmin eq true and isAdmin eq false").unwrap().len(),
            2,
            "contradictions are allowed and simply match nothing"
        );
    }

    #[test]
    fn refuses_everything_else_precisely() {
        assert_eq!(parse(" "), Err(FilterError::Empty));
        assert_eq!(
            parse("userType eq 'guest'"),
            Err(FilterError::UnknownProperty {
                name: "userType".into(),
                known: "isAdmin, isMfaRegistered, isSsprCapable".into()
            })
        );
        assert_eq!(
            parse("isAdmin ne true"),
            Err(FilterError::UnsupportedOperator("ne".into()))
        );
        assert_eq!(
            parse("isAdmin eq true or isMfaRegistered eq true"),
            Err(FilterError::UnsupportedLogical("or".into()))
        );
        assert_eq!(
            parse("not isAdmin eq true"),
            Err(FilterError::UnsupportedLogical("not".into()))
        );
        assert_eq!(
            parse("isAdmin eq 'true'"),
            Err(FilterError::NotABoolean {
                property: "isAdmin".into(),
                found: "'true'".into()
            })
        );
        assert_eq!(
            parse("isAdmin eq 1"),
            Err(FilterError::NotABoolean {
                property: "isAdmin".into(),
                found: "1".into()
            })
        );
        assert!(matches!(
            parse("isAdmin eq"),
            Err(FilterError::NotABoolean { .. })
        ));
        assert!(matches!(
            parse("isAdmin"),
            Err(FilterError::Expected { .. })
        ));
        assert!(matches!(
            parse("(isAdmin eq true"),
            Err(FilterError::Expected {
                expected: "')'",
                ..
            })
        ));
        assert!(matches!(
            parse("isAdmin eq true)"),
            Err(FilterError::Expected { .. })
        ));
        assert!(matches!(
            parse("isAdmin eq true isMfaRegistered eq true"),
            Err(FilterError::Expected { .. })
        ));
        assert!(matches!(
            parse("true eq isAdmin"),
            Err(FilterError::UnknownProperty { .. })
        ));
        assert_eq!(
            parse("isAdmin eq true; drop"),
            Err(FilterError::BadCharacter(';', 15))
        );
        assert!(matches!(
            parse("and isAdmin eq true"),
            Err(FilterError::UnknownProperty { .. })
        ));
        let deep = format!("{}isAdmin eq true{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(parse(&deep), Err(FilterError::TooDeep));
        let ok = format!("{}isAdmin eq true{}", "(".repeat(3), ")".repeat(3));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn messages_name_the_problem() {
        let e = parse("isAdmin gt true").unwrap_err().to_string();
        assert!(e.contains("'gt'") && e.contains("eq"), "{e}");
        let e = parse("colour eq true").unwrap_err().to_string();
        assert!(e.contains("'colour'") && e.contains("isAdmin"), "{e}");
    }
}
