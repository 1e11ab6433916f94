//! OpenProject's query filters: a JSON array of `{name: {operator, values}}` sent in the query
//! string. Built with serde_json (never by pasting text), so a value can hold any character and
//! still be one value; the HTTP client percent-encodes the whole.
use serde_json::{Value, json};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters(Vec<Value>);

impl Filters {
    pub fn new() -> Self {
        Self::default()
    }

    /// `name` `operator` `values`, e.g. `status = [1, 2]`, `assignee !* []`.
    pub fn add<S: AsRef<str>>(mut self, name: &str, operator: &str, values: &[S]) -> Self {
        let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        self.0
            .push(json!({ name: { "operator": operator, "values": values } }));
        self
    }

    /// The `filters` query value. `[]` means "no filter" to OpenProject; leaving the parameter
    /// out would apply its default filter (open work packages only).
    pub fn to_query(&self) -> String {
        Value::Array(self.0.clone()).to_string()
    }
}

/// `[[field, "asc"|"desc"]]`.
pub fn sort_by(field: &str, descending: bool) -> String {
    json!([[field, if descending { "desc" } else { "asc" }]]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_json_arrays_of_single_key_objects() {
        let f = Filters::new()
            .add("status", "*", &[] as &[&str])
            .add("assignee", "=", &["me"])
            .add("version", "=", &["3", "4"]);
        assert_eq!(
            f.to_query(),
            r#"[{"status":{"operator":"*","values":[]}},{"assignee":{"operator":"=","values":["me"]}},{"version":{"operator":"=","values":["3","4"]}}]"#
        );
        assert_eq!(Filters::new().to_query(), "[]");
    }

    #[test]
    fn hostile_text_stays_one_value() {
        for evil in [
            r#"x"}},{"status":{"operator":"*","values":[]}}]"#,
            "a\\\"b",
            "line\nbreak\u{0}nul",
            "&filters=[]&offset=9",
            "日本語 ✓ %22 %00",
            "]",
        ] {
            let q = Filters::new().add("subject", "~", &[evil]).to_query();
            let back: Value = serde_json::from_str(&q).unwrap();
            let arr = back.as_array().unwrap();
            assert_eq!(arr.len(), 1, "{evil}");
            assert_eq!(arr[0]["subject"]["values"][0], evil);
            assert_eq!(arr[0]["subject"]["operator"], "~");
            assert_eq!(arr[0].as_object().unwrap().len(), 1);
        }
    }

    #[test]
    fn sort_is_a_nested_array() {
        assert_eq!(sort_by("updatedAt", true), r#"[["updatedAt","desc"]]"#);
        assert_eq!(sort_by("id", false), r#"[["id","asc"]]"#);
    }
}
