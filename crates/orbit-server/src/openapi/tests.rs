//! The contract, pinned: the whole document as a snapshot, and the rules it keeps.

use super::document;
use crate::error::status_of;
use orbit_core::ErrorCode;
use serde_json::Value;

/// Properties whose value is free-form by nature: a person's traits, an event's
/// properties and context, a webhook body as written, template defaults.
const FREE_FORM: [&str; 12] = [
    "traits",
    "properties",
    "context",
    "value",
    "body",
    "defaults",
    "event",
    "additionalProperties",
    "device",
    "patch",
    // An audit entry's resource, whichever it is, as its read endpoint shows it.
    "before",
    "after",
];

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            all.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    all
}

#[test]
fn the_document_is_pinned() {
    // A change of the contract shows here as a diff to review (`cargo insta review`).
    insta::assert_json_snapshot!("openapi", document());
}

#[test]
fn every_json_body_and_success_answer_is_a_named_schema() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let body = &operation["requestBody"]["content"]["application/json"]["schema"];
        assert!(
            body.is_null() || body["$ref"].is_string(),
            "{method} {path}: its JSON body is not a named schema: {body}"
        );
        for (status, answer) in operation["responses"].as_object().into_iter().flatten() {
            let schema = &answer["content"]["application/json"]["schema"];
            if status.starts_with('2') && !schema.is_null() {
                assert!(
                    schema["$ref"].is_string(),
                    "{method} {path} {status}: its JSON answer is not a named schema: {schema}"
                );
            }
        }
    }
}

#[test]
fn every_operation_says_what_it_does_and_every_answer_is_described() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(summary.len() > 10, "{method} {path} has no summary");
        for (status, answer) in operation["responses"].as_object().into_iter().flatten() {
            let description = answer["description"].as_str().unwrap_or_default();
            assert!(
                !description.is_empty(),
                "{method} {path} {status} is not described"
            );
        }
    }
}

/// Walks every schema, calling `visit` with the property name it is under.
fn walk<'a>(value: &'a Value, under: &str, visit: &mut impl FnMut(&str, &'a Value)) {
    match value {
        Value::Object(map) => {
            visit(under, value);
            for (key, child) in map {
                match key.as_str() {
                    "example" | "examples" | "default" => {}
                    "properties" => {
                        for (name, property) in child.as_object().into_iter().flatten() {
                            walk(property, name, visit);
                        }
                    }
                    other => walk(
                        child,
                        if other == "items" || other == "oneOf" {
                            under
                        } else {
                            other
                        },
                        visit,
                    ),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, under, visit)),
        _ => {}
    }
}

#[test]
fn no_schema_is_a_bare_object_or_any_json_where_the_shape_is_known() {
    let doc = document();
    let mut found = Vec::new();
    walk(&doc["components"], "", &mut |under, schema| {
        let Some(map) = schema.as_object() else { return };
        let is_any = map
            .keys()
            .all(|k| matches!(k.as_str(), "description" | "example" | "default"));
        let is_bare_object = schema["type"] == "object"
            && schema["properties"].is_null()
            && schema["additionalProperties"].is_null()
            && schema["oneOf"].is_null()
            && schema["allOf"].is_null();
        if (is_any || is_bare_object) && !FREE_FORM.contains(&under) {
            found.push(format!("{under}: {schema}"));
        }
    });
    assert!(found.is_empty(), "schemas without a shape:\n{}", found.join("\n"));
}

#[test]
fn every_error_code_is_in_the_document_and_in_the_table_of_docs_api_md() {
    let doc = document();
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enumeration")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let table = include_str!("../../../../docs/api.md");
    for code in ErrorCode::ALL {
        assert!(listed.contains(&code.as_str()), "{code} is not in the document");
        let status = status_of(code).as_u16().to_string();
        let row = table
            .lines()
            .find(|line| line.starts_with(&format!("| {status} |")))
            .unwrap_or_else(|| panic!("docs/api.md has no row for {status}"));
        assert!(
            row.contains(&format!("`{code}`")),
            "docs/api.md lists {code} under another status than {status}, or not at all"
        );
    }
    assert_eq!(
        listed.len(),
        ErrorCode::ALL.len(),
        "the document lists codes the enum does not have"
    );
}
