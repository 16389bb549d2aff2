/** Link and slot colours by type, the palette ComfyUI users recognise (MODEL lavender, CLIP yellow, …). */
export const SLOT_COLORS: Record<string, string> = {
  MODEL: '#B39DDB',
  CLIP: '#FFD500',
  VAE: '#FF6E6E',
  CONDITIONING: '#FFA931',
  LATENT: '#FF9CF9',
  IMAGE: '#64B5F6',
  MASK: '#81C784',
  CONTROL_NET: '#00D78D',
  CLIP_VISION: '#A8DADC',
  CLIP_VISION_OUTPUT: '#ad7452',
  STYLE_MODEL: '#C2FFAE',
  UPSCALE_MODEL: '#C2FFAE',
  INT: '#29699c',
  FLOAT: '#29699c',
  STRING: '#77ff77',
  BOOLEAN: '#99d199',
  NOISE: '#B0B0B0',
  SAMPLER: '#ECB4B4',
  SIGMAS: '#CDFFCD',
  GUIDER: '#66FFFF',
};

export function slotColor(type: string): string | undefined {
  return SLOT_COLORS[type] ?? SLOT_COLORS[type.split(',')[0]];
}
