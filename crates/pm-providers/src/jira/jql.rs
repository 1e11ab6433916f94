//! Building JQL from user values. Every value is quoted and escaped, so no input — quotes,
//! backslashes, newlines, JQL keywords — can change the query's structure.

/// `value` as a JQL string literal.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Conditions joined with AND, then an ORDER BY.
#[derive(Debug, Default, Clone)]
pub struct Jql {
    clauses: Vec<String>,
}

impl Jql {
    pub fn new() -> Self {
        Self::default()
    }

    /// `field = "value"`.
    pub fn eq(mut self, field: &str, value: &str) -> Self {
        self.clauses.push(format!("{field} = {}", quote(value)));
        self
    }

    /// `field <op> "value"` with a fixed operator (`>=`, `<`, …) chosen by pm-mcp.
    pub fn eq_op(mut self, field: &str, op: &'static str, value: &str) -> Self {
        self.clauses.push(format!("{field} {op} {}", quote(value)));
        self
    }

    /// `field in ("a", "b")`.
    pub fn one_of(mut self, field: &str, values: &[&str]) -> Self {
        let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
        self.clauses
            .push(format!("{field} in ({})", list.join(", ")));
        self
    }

    /// `(field is EMPTY OR field != "value")`: `!=` alone never matches an empty field (JQL
    /// operators reference: "The != operator will not match a field that has no value").
    pub fn empty_or_not(mut self, field: &str, value: &str) -> Self {
        self.clauses
            .push(format!("({field} is EMPTY OR {field} != {})", quote(value)));
        self
    }

    /// A clause pm-mcp writes itself (never user input), e.g. `assignee = currentUser()`.
    pub fn raw(mut self, clause: &'static str) -> Self {
        self.clauses.push(clause.to_string());
        self
    }

    /// Free text anywhere in the issue.
    pub fn text(mut self, words: &str) -> Self {
        self.clauses.push(format!("text ~ {}", quote(words)));
        self
    }

    /// Whether no condition was added (an unbounded query).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    pub fn build(&self, order_by: &str) -> String {
        let conditions = self.clauses.join(" AND ");
        if conditions.is_empty() {
            format!("ORDER BY {order_by}")
        } else {
            format!("{conditions} ORDER BY {order_by}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_escaped() {
        assert_eq!(quote("PROJ"), r#""PROJ""#);
        assert_eq!(quote(r#"a "b" c"#), r#""a \"b\" c""#);
        assert_eq!(quote(r"back\slash"), r#""back\\slash""#);
        assert_eq!(quote("line\nbreak\r\ttab"), r#""line\nbreak\r\ttab""#);
        assert_eq!(quote("bell\u{7}"), r#""bell""#);
    }

    #[test]
    fn hostile_values_cannot_escape_their_string() {
        let attack = r#"PROJ" OR project is not EMPTY OR summary ~ "x"#;
        let jql = Jql::new().eq("project", attack).build("key");
        assert_eq!(
            jql,
            r#"project = "PROJ\" OR project is not EMPTY OR summary ~ \"x" ORDER BY key"#
        );
        // Balanced quotes once the escapes are removed: the value stayed one string.
        let unescaped: String = jql.replace("\\\\", "").replace("\\\"", "");
        assert_eq!(unescaped.matches('"').count(), 2);
        let trailing_backslash = Jql::new().eq("assignee", r"me\").build("key");
        assert_eq!(trailing_backslash, r#"assignee = "me\\" ORDER BY key"#);
    }

    #[test]
    fn clauses_join_with_and() {
        let jql = Jql::new()
            .eq("project", "EX")
            .one_of("status", &["To Do", "In Progress"])
            .raw("assignee = currentUser()")
            .build("updated DESC");
        assert_eq!(
            jql,
            r#"project = "EX" AND status in ("To Do", "In Progress") AND assignee = currentUser() ORDER BY updated DESC"#
        );
        assert_eq!(Jql::new().build("key"), "ORDER BY key");
        assert_eq!(
            Jql::new()
                .one_of("project", &["EX"])
                .empty_or_not("sprint", "7")
                .build("created ASC"),
            r#"project in ("EX") AND (sprint is EMPTY OR sprint != "7") ORDER BY created ASC"#
        );
    }
}
