// i18n.js -- labels in English and Simplified Chinese; the choice is kept in localStorage.
// t(key) looks a label up; apply(root) fills every [data-i18n] element below root.
const dict = {
  en: {
    brand_sub: 'master station', loading: 'Loading…', logout: 'Log out', login: 'Log in',
    username: 'User name', password: 'Password', login_title: 'Sign in to meterflow',
    login_failed: 'Login failed', session_expired: 'Session expired: please log in again',
    nav_dashboard: 'Dashboard', nav_terminals: 'Terminals', nav_events: 'Events',
    nav_lineloss: 'Line loss', nav_anomalies: 'Anomalies', nav_commands: 'Commands',
    nav_users: 'Users', nav_audit: 'Audit',
    tile_online: 'Terminals online', tile_rate: 'Online rate', tile_collect: 'Collection success (yesterday)',
    tile_ingest: 'Ingest rate (rows/s)', tile_anomalies: 'Open anomalies',
    chart_online: 'Online terminals, last 24 h', chart_ingest: 'Ingest rate (this session)',
    chart_collect_area: 'Collection success by area (yesterday)', chart_lineloss: 'Worst line-loss areas (yesterday)',
    recent_events: 'Recent events', recent_anomalies: 'Recent anomalies',
    id: 'ID', name: 'Name', area: 'Area', vendor: 'Vendor', status: 'Status', online: 'Online',
    offline: 'Offline', all: 'All', last_seen: 'Last seen', peer: 'Peer', clock_offset: 'Clock offset (s)',
    search: 'Search', filter: 'Filter', prev: 'Previous', next: 'Next', page: 'Page', total: 'total',
    points: 'Measurement points', pn: 'Point', meter_addr: 'Meter address', customer_class: 'Class',
    recent_frames: 'Recent frames', time: 'Time', dir: 'Dir', frame: 'Frame (hex)',
    version: 'Version', commands: 'Commands', send: 'Send', date: 'Date',
    cmd_read_current: 'Read current', cmd_read_daily: 'Read daily frozen', cmd_read_curve: 'Read curve',
    cmd_clock_sync: 'Clock sync', cmd_read_meter_config: 'Read meter config', cmd_meter_read: 'Meter read (645)',
    cmd_relay_trip: 'Relay trip', cmd_relay_close: 'Relay close', confirm_relay: 'Really switch the relay of meter',
    type: 'Type', state: 'State', attempts: 'Attempts', created_by: 'By', created_at: 'Created',
    answer: 'Answer', terminal: 'Terminal', erc: 'ERC', severity: 'Severity', occurred: 'Occurred',
    received: 'Received', fields: 'Fields', kind: 'Kind', evidence: 'Evidence', ack: 'Acknowledge',
    close: 'Close', supply: 'Supply kWh', consumed: 'Consumed kWh', loss: 'Loss kWh', rate: 'Rate',
    flag: 'Flag', meters: 'Meters', daily_use: 'Daily consumption (kWh)', curve: '96-point curve',
    voltage_current: 'Voltage and current', item: 'Item', value: 'Value', role: 'Role',
    create_user: 'Create user', delete: 'Delete', set_role: 'Set role', set_password: 'Set password',
    user: 'User', action: 'Action', target: 'Target', detail: 'Detail', remote: 'From',
    no_data: 'No data', saved: 'Saved', error: 'Error', refresh: 'Refresh', point_detail: 'Point',
    expected: 'Expected', collected: 'Collected', missing: 'Missing points',
  },
  zh: {
    brand_sub: '采集主站', loading: '加载中…', logout: '退出', login: '登录',
    username: '用户名', password: '密码', login_title: '登录 meterflow', login_failed: '登录失败',
    session_expired: '会话已过期，请重新登录',
    nav_dashboard: '总览', nav_terminals: '终端', nav_events: '事件', nav_lineloss: '线损',
    nav_anomalies: '异常', nav_commands: '命令', nav_users: '用户', nav_audit: '审计',
    tile_online: '在线终端', tile_rate: '在线率', tile_collect: '采集成功率（昨日）',
    tile_ingest: '入库速率（行/秒）', tile_anomalies: '未处理异常',
    chart_online: '在线终端（近24小时）', chart_ingest: '入库速率（本次会话）',
    chart_collect_area: '各台区采集成功率（昨日）', chart_lineloss: '线损最高台区（昨日）',
    recent_events: '最新事件', recent_anomalies: '最新异常',
    id: '编号', name: '名称', area: '台区', vendor: '厂家', status: '状态', online: '在线',
    offline: '离线', all: '全部', last_seen: '最后通信', peer: '地址', clock_offset: '时钟偏差（秒）',
    search: '搜索', filter: '筛选', prev: '上一页', next: '下一页', page: '页', total: '共',
    points: '测量点', pn: '测量点号', meter_addr: '电表地址', customer_class: '用户类别',
    recent_frames: '最近报文', time: '时间', dir: '方向', frame: '报文（十六进制）',
    version: '版本', commands: '命令', send: '发送', date: '日期',
    cmd_read_current: '召测当前数据', cmd_read_daily: '召测日冻结', cmd_read_curve: '召测曲线',
    cmd_clock_sync: '对时', cmd_read_meter_config: '查询电表参数', cmd_meter_read: '透明抄表（645）',
    cmd_relay_trip: '拉闸', cmd_relay_close: '合闸', confirm_relay: '确认对电表执行拉合闸操作',
    type: '类型', state: '状态', attempts: '次数', created_by: '操作人', created_at: '创建时间',
    answer: '应答', terminal: '终端', erc: '事件代码', severity: '等级', occurred: '发生时间',
    received: '接收时间', fields: '内容', kind: '类型', evidence: '依据', ack: '确认',
    close: '关闭', supply: '供电量 kWh', consumed: '售电量 kWh', loss: '损失电量 kWh', rate: '线损率',
    flag: '标志', meters: '电表', daily_use: '日用电量（kWh）', curve: '96点曲线',
    voltage_current: '电压与电流', item: '数据项', value: '数值', role: '角色',
    create_user: '新建用户', delete: '删除', set_role: '设置角色', set_password: '设置密码',
    user: '用户', action: '操作', target: '对象', detail: '详情', remote: '来源',
    no_data: '暂无数据', saved: '已保存', error: '错误', refresh: '刷新', point_detail: '测量点',
    expected: '应采', collected: '已采', missing: '未采测量点',
  },
};

let lang = localStorage.getItem('mf_lang') === 'zh' ? 'zh' : 'en';

export function t(key) {
  return (dict[lang] && dict[lang][key]) || dict.en[key] || key;
}

export function getLang() { return lang; }

export function setLang(l) {
  lang = l === 'zh' ? 'zh' : 'en';
  localStorage.setItem('mf_lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export function apply(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}
