/** The translation KL's two forms (GUIDE §5): `reference`, the published code's computation (the default); `class`, KL over classes. */
export type TranslationMode = 'class' | 'reference';
export const TRANSLATION_MODES: readonly TranslationMode[] = ['class', 'reference'];
