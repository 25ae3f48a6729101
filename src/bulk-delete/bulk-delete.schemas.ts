import { Type } from 'typebox';

const confirm = Type.Boolean({ const: true, description: 'Must be `true`: deleting the whole catalog is not undone.' });

export const BulkDeleteBody = Type.Object({ confirm }, { additionalProperties: false });
export const BulkDeleteQuery = Type.Object({ confirm });
