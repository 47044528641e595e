import { z } from 'zod';
import {
  DISPLAY_NAME_MAX,
  PASSWORD_MAX,
  PASSWORD_MIN,
  TEAM_NAME_MAX,
  TOKEN_NAME_MAX,
  USERNAME_MAX,
} from '../limits.ts';
import { idSchema, isoTimeSchema } from './common.ts';

export const roleSchema = z.enum(['admin', 'member']);
export type Role = z.infer<typeof roleSchema>;

export const userSchema = z.object({
  id: idSchema,
  username: z.string(),
  displayName: z.string(),
  role: roleSchema,
  teamIds: z.array(idSchema),
});
export type User = z.infer<typeof userSchema>;

export const usernameSchema = z
  .string()
  .min(1)
  .max(USERNAME_MAX)
  .regex(/^[a-z0-9_.-]+$/, 'lowercase letters, digits, "_", "." and "-" only');

export const loginSchema = z.object({
  username: z.string().min(1).max(USERNAME_MAX),
  password: z.string().min(1).max(PASSWORD_MAX),
});

export const tokenScopeSchema = z.enum(['read', 'write', 'ingest', 'notify']);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

export const createTokenSchema = z.object({
  name: z.string().trim().min(1).max(TOKEN_NAME_MAX),
  scopes: z.array(tokenScopeSchema).min(1).max(4),
});

export const tokenInfoSchema = z.object({
  id: idSchema,
  name: z.string(),
  scopes: z.array(tokenScopeSchema),
  createdAt: isoTimeSchema,
  lastUsedAt: isoTimeSchema.nullable(),
});
export type TokenInfo = z.infer<typeof tokenInfoSchema>;

export const createUserSchema = z.object({
  username: usernameSchema,
  password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
  displayName: z.string().trim().min(1).max(DISPLAY_NAME_MAX).optional(),
  role: roleSchema.optional(),
  teamIds: z.array(idSchema).max(100).optional(),
});

export const userIdSchema = z.object({ userId: idSchema });
export const setDisabledSchema = z.object({ userId: idSchema, disabled: z.boolean() });

export const teamSchema = z.object({ id: idSchema, name: z.string() });
export type Team = z.infer<typeof teamSchema>;

export const createTeamSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(TEAM_NAME_MAX)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
});
export const addMemberSchema = z.object({ teamId: idSchema, userId: idSchema });
