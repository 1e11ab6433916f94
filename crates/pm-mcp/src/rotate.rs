//! `pm-mcp secrets rotate`: re-seals every stored credential with the current master key, in
//! committed batches, and says what is left and which old keys are no longer needed.
use anyhow::{Result, anyhow};
use pm_store::{MasterKeys, Store};

pub async fn run(
    store: &dyn Store,
    keys: &MasterKeys,
    batch_size: usize,
    limit: Option<u64>,
) -> Result<()> {
    if batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    let report = pm_store::reseal_all(store, keys, batch_size, limit)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "Re-sealed {} connection(s) with master key {}; {} sealed with it in all, {} still sealed with older keys.",
        report.resealed, report.current_key_id, report.current, report.remaining
    );
    if report.remaining > 0 {
        for (id, n) in &report.older {
            println!("  key {id}: {n} connection(s)");
        }
        println!(
            "Run `pm-mcp secrets rotate` again to finish; keep the older keys configured until then."
        );
    } else {
        let unused: Vec<&str> = keys
            .ids()
            .into_iter()
            .filter(|id| *id != report.current_key_id)
            .collect();
        if unused.is_empty() {
            println!("Every credential is sealed with the current key.");
        } else {
            println!(
                "Every credential is sealed with the current key; the older key(s) {} are no longer needed: remove them from PM_MCP_OLD_MASTER_KEYS.",
                unused.join(", ")
            );
        }
    }
    Ok(())
}
