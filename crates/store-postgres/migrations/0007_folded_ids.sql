-- Possible duplicate product orgs (SPEC §6 `similar_product_org`): ids equal once trimmed and
-- case-folded. An index on the expression, not a column: nothing to backfill, and an org's
-- update never touches it (its id never changes). The expression is
-- trailspark_core::ids::FOLDED_ID_SQL.postgres, and queries spell it the same way to use it.
CREATE INDEX product_orgs_folded
    ON product_orgs (tenant_id, (translate(btrim(product_org_id, E' \t\n\r'),
        'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')));
