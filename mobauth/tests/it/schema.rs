//! JSON Schema checks shared by the report tests: every violation of a value, each where in the
//! value it is and what it is.

/// Every violation of `value` against the compiled schema: the leaves of boon's tree of causes,
/// each as its kind and the instance location, so an assertion's diff names every broken field.
pub(crate) fn violations(
    validator: &(boon::Schemas, boon::SchemaIndex),
    value: &serde_json::Value,
) -> Vec<String> {
    fn leaves(error: &boon::ValidationError<'_, '_>, out: &mut Vec<String>) {
        if error.causes.is_empty() {
            out.push(format!("{} at {:?}", error.kind, error.instance_location.to_string()));
        }
        error.causes.iter().for_each(|cause| leaves(cause, out));
    }
    let (schemas, index) = validator;
    let mut out = Vec::new();
    if let Err(error) = schemas.validate(value, *index) {
        leaves(&error, &mut out);
    }
    out
}
